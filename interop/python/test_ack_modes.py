"""Ack modes auto / client (cumulative) / client-individual, prefetch, redelivery flag."""

import pytest

from conftest import log, stays_true

ALL_VERSIONS = ["1.0", "1.1", "1.2"]


def fill(client, queue, n, prefix="m"):
    p = client()
    for i in range(n):
        p.send(queue, f"{prefix}{i}", headers={"persistent": "true"}, receipt=(i == n - 1))
    p.disconnect()


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_auto_ack_messages_are_not_redelivered(client, queue, version):
    """With ack:auto a delivered message is gone: a later consumer sees nothing of it."""
    fill(client, queue, 3)
    c = client(version)
    c.wait_messages(3, c.subscribe(queue, ack="auto"))
    c.disconnect()
    log("a second consumer gets only the marker sent after")
    d = client(version)
    sub = d.subscribe(queue)
    d.send(queue, "marker")
    d.wait_messages(1, sub)
    assert stays_true(lambda: len(d.messages) == 1)
    assert d.bodies(sub) == ["marker"]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_unacked_client_messages_redelivered_after_disconnect(client, queue, version):
    """ack:client without ACK: after DISCONNECT every message comes back with redelivered:true."""
    fill(client, queue, 3)
    c = client(version)
    sub = c.subscribe(queue, ack="client")
    msgs = c.wait_messages(3, sub)
    assert [m.headers["redelivered"] for m in msgs] == ["false"] * 3
    if version == "1.2":
        assert all(m.headers.get("ack") for m in msgs), "1.2 MESSAGE with ack:client needs an ack header"
    c.disconnect()
    log("reconnect: all three redelivered, in order")
    d = client(version)
    sub = d.subscribe(queue, ack="client")
    msgs = d.wait_messages(3, sub)
    assert stays_true(lambda: len(d.messages) == 3)
    assert [m.body for m in msgs] == ["m0", "m1", "m2"]
    assert [m.headers["redelivered"] for m in msgs] == ["true"] * 3


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_client_ack_is_cumulative(client, queue, version):
    """ack:client: ACK of the 3rd of 5 messages also acknowledges the 1st and 2nd."""
    fill(client, queue, 5)
    c = client(version)
    sub = c.subscribe(queue, ack="client")
    msgs = c.wait_messages(5, sub)
    c.ack(msgs[2])
    c.sync()
    c.disconnect()
    d = client(version)
    sub = d.subscribe(queue, ack="client")
    msgs = d.wait_messages(2, sub)
    assert stays_true(lambda: len(d.messages) == 2)
    assert [m.body for m in msgs] == ["m3", "m4"]
    assert all(m.headers["redelivered"] == "true" for m in msgs)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_client_individual_ack_acknowledges_only_that_message(client, queue, version):
    """ack:client-individual: ACK of messages 2 and 4 leaves 1, 3 and 5 unacknowledged."""
    fill(client, queue, 5)
    c = client(version)
    sub = c.subscribe(queue, ack="client-individual")
    msgs = c.wait_messages(5, sub)
    c.ack(msgs[1])
    c.ack(msgs[3])
    c.sync()
    c.disconnect()
    d = client(version)
    sub = d.subscribe(queue, ack="client-individual")
    msgs = d.wait_messages(3, sub)
    assert stays_true(lambda: len(d.messages) == 3)
    assert [m.body for m in msgs] == ["m0", "m2", "m4"]
    assert all(m.headers["redelivered"] == "true" for m in msgs)


def test_acked_messages_stay_acked_after_disconnect(client, queue):
    """Every message ACKed individually is never seen again."""
    fill(client, queue, 4)
    c = client()
    sub = c.subscribe(queue, ack="client-individual")
    for m in c.wait_messages(4, sub):
        c.ack(m)
    c.sync()
    c.disconnect()
    d = client()
    sub = d.subscribe(queue)
    d.send(queue, "marker")
    d.wait_messages(1, sub)
    assert stays_true(lambda: len(d.messages) == 1)
    assert d.bodies(sub) == ["marker"]


def test_prefetch_size_limits_unacked_messages_in_flight(client, queue):
    """activemq.prefetchSize:1 with ack:client-individual: one message at a time until ACK."""
    fill(client, queue, 3)
    c = client()
    sub = c.subscribe(queue, ack="client-individual", headers={"activemq.prefetchSize": "1"})
    first = c.wait_messages(1, sub)[0]
    assert stays_true(lambda: len(c.messages) == 1), "prefetch 1 delivered a second message before ACK"
    c.ack(first)
    second = c.wait_messages(2, sub)[1]
    assert stays_true(lambda: len(c.messages) == 2)
    c.ack(second)
    c.wait_messages(3, sub)
    assert c.bodies(sub) == ["m0", "m1", "m2"]


def test_prefetch_one_shares_a_queue_between_slow_consumers(client, queue):
    """Two prefetch-1 consumers that hold their message each get exactly one of two."""
    fill(client, queue, 2)
    a, b = client(), client()
    sa = a.subscribe(queue, ack="client-individual", headers={"activemq.prefetchSize": "1"})
    sb = b.subscribe(queue, ack="client-individual", headers={"activemq.prefetchSize": "1"})
    a.wait_messages(1, sa)
    b.wait_messages(1, sb)
    assert stays_true(lambda: len(a.messages) == 1 and len(b.messages) == 1)
    assert sorted(a.bodies(sa) + b.bodies(sb)) == ["m0", "m1"]
