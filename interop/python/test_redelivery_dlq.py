"""NACK, redelivery limit and expiry: what ends up on ActiveMQ.DLQ and what is never delivered.

ActiveMQ.DLQ is shared by every test, so each test tags its messages with a unique
``testid`` property and reads the DLQ through the selector ``testid = '<uid>'``.
"""

import os
import time

import pytest

from conftest import DLQ, log, parse_addr, stays_true, wait_for

DEFAULT_MAX_REDELIVERIES = 6


def dlq_reader(client, uid, at=None):
    c = client(at=at)
    sub = c.subscribe(DLQ, ack="client-individual", headers={"selector": f"testid = '{uid}'"})
    return c, sub


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_nack_moves_message_to_dlq(client, queue, uid, version):
    """NACK sends the message to ActiveMQ.DLQ with originalDestination and a failure cause."""
    p = client(version)
    p.send(queue, "poison", headers={"testid": uid, "persistent": "true"})
    c = client(version)
    sub = c.subscribe(queue, ack="client-individual")
    (msg,) = c.wait_messages(1, sub)
    c.nack(msg)
    c.sync()
    log("the message is on the DLQ, not on the queue")
    d, dsub = dlq_reader(client, uid)
    (dead,) = d.wait_messages(1, dsub)
    assert stays_true(lambda: len(d.messages) == 1 and len(c.messages) == 1)
    assert dead.body == "poison"
    assert dead.headers["destination"] == DLQ
    assert "interop." + uid in dead.headers.get("originalDestination", ""), dead.headers
    assert dead.headers.get("dlqDeliveryFailureCause"), dead.headers
    d.ack(dead)


def redelivery_target():
    """The broker used for the redelivery-limit test and its max_redeliveries."""
    low = os.environ.get("FERROMQ_STOMP_LOW_REDELIVERY")
    if low:
        return parse_addr(low), int(os.environ.get("FERROMQ_LOW_MAX_REDELIVERIES", "2"))
    return None, DEFAULT_MAX_REDELIVERIES


def test_message_goes_to_dlq_after_max_redeliveries(client, uid):
    """A message delivered 1 + max_redeliveries times without ACK goes to the DLQ, and is
    not delivered from its queue again."""
    at, max_redeliveries = redelivery_target()
    queue = f"/queue/interop.redeliver.{uid}"
    p = client(at=at)
    p.send(queue, "flaky", headers={"testid": uid, "persistent": "true"})
    flags = []
    for attempt in range(1 + max_redeliveries):
        log(f"delivery {attempt + 1}: receive and disconnect without ACK")
        c = client(at=at)
        sub = c.subscribe(queue, ack="client")
        (msg,) = c.wait_messages(1, sub)
        flags.append(msg.headers["redelivered"])
        c.disconnect()
    assert flags == ["false"] + ["true"] * max_redeliveries
    log("after the last allowed redelivery the message is on the DLQ only")
    d, dsub = dlq_reader(client, uid, at=at)
    qsub = d.subscribe(queue, ack="client")
    d.wait_messages(1, dsub)
    assert stays_true(lambda: len(d.messages) == 1), [m.headers for m in d.messages]
    assert d.bodies(dsub) == ["flaky"]
    assert d.bodies(qsub) == []
    assert d.for_sub(dsub)[0].headers.get("dlqDeliveryFailureCause")


def test_expired_messages_are_never_delivered(client, queue, uid):
    """Already-expired messages are dropped (persistent ones to the DLQ); the live one arrives."""
    now = int(time.time() * 1000)
    p = client()
    p.send(queue, "expired-np", headers={"expires": str(now - 1000), "testid": uid})
    p.send(queue, "expired-p", headers={"expires": str(now - 1000), "testid": uid, "persistent": "true"})
    live_exp = now + 60_000
    p.send(queue, "live", headers={"expires": str(live_exp), "testid": uid})
    c = client()
    sub = c.subscribe(queue)
    (msg,) = c.wait_messages(1, sub)
    assert stays_true(lambda: len(c.messages) == 1)
    assert msg.body == "live"
    assert msg.headers["expires"] == str(live_exp)
    log("only the persistent expired message is on the DLQ")
    d, dsub = dlq_reader(client, uid)
    d.wait_messages(1, dsub)
    assert stays_true(lambda: len(d.messages) == 1)
    assert d.bodies(dsub) == ["expired-p"]


def test_message_expiring_while_queued_is_not_delivered(client, queue):
    """A message whose expiry passes while it waits on the queue is not delivered."""
    p = client()
    expires = int(time.time() * 1000) + 300
    p.send(queue, "short-lived", headers={"expires": str(expires)})
    p.send(queue, "durable-ish")
    wait_for(lambda: time.time() * 1000 > expires + 50, what="the expiry time to pass")
    c = client()
    sub = c.subscribe(queue)
    c.wait_messages(1, sub)
    assert stays_true(lambda: len(c.messages) == 1)
    assert c.bodies(sub) == ["durable-ish"]
