"""Send/receive, bodies, properties, competing consumers, fan-out and priority order."""

import time

import pytest

from conftest import QUIET_WINDOW, log, stays_true, wait_for

ALL_VERSIONS = ["1.0", "1.1", "1.2"]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_text_message_round_trips_with_standard_headers(client, queue, version):
    """A text message sent to a queue arrives once, with the MESSAGE headers ActiveMQ sets."""
    c = client(version)
    log("subscribe, then send one persistent text message")
    sub = c.subscribe(queue)
    c.send(queue, "hello ferromq \u00e9\u00e8", headers={"persistent": "true"})
    (msg,) = c.wait_messages(1, sub)
    assert msg.body == "hello ferromq \u00e9\u00e8"
    h = msg.headers
    assert h["destination"] == queue
    assert h["message-id"]
    assert h["subscription"] == sub
    assert int(h["timestamp"]) > 0
    assert h["priority"] == "4"
    assert h["expires"] == "0"
    assert h["redelivered"] == "false"
    assert h["persistent"] == "true"
    assert int(h["content-length"]) == len("hello ferromq \u00e9\u00e8".encode())
    assert stays_true(lambda: len(c.messages) == 1), "exactly one MESSAGE expected"


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_binary_body_with_nul_bytes_round_trips(client, queue, version):
    """content-length framing carries NUL bytes and every byte value unchanged."""
    body = bytes(range(256)) + b"\x00\x00tail\x00"
    c = client(version, auto_decode=False)
    sub = c.subscribe(queue)
    c.send(queue, body)
    (msg,) = c.wait_messages(1, sub)
    assert msg.body == body
    assert int(msg.headers["content-length"]) == len(body)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_empty_body_round_trips(client, queue, version):
    """A zero-length body stays zero-length."""
    c = client(version)
    sub = c.subscribe(queue)
    c.send(queue, "")
    (msg,) = c.wait_messages(1, sub)
    assert msg.body == ""


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_properties_and_jms_headers_round_trip(client, queue, version):
    """User headers come back as properties; correlation-id and type come back as sent."""
    c = client(version)
    sub = c.subscribe(queue)
    props = {"color": "red", "count": "42", "x-trace": "abc-123", "correlation-id": "corr-7", "type": "order"}
    c.send(queue, "props", headers=props)
    (msg,) = c.wait_messages(1, sub)
    for k, v in props.items():
        assert msg.headers.get(k) == v, f"header {k}: {msg.headers.get(k)!r} != {v!r}"


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_escaped_header_values_round_trip(client, queue, version):
    """1.1/1.2 header escaping (colon, backslash, newline) survives the broker."""
    c = client(version)
    sub = c.subscribe(queue)
    value = "a:b\\c\nd"
    c.send(queue, "esc", headers={"weird": value})
    (msg,) = c.wait_messages(1, sub)
    assert msg.headers.get("weird") == value


def test_queue_competing_consumers_get_each_message_exactly_once(client, queue):
    """Two consumers on one queue: the union is every message, nobody gets a duplicate."""
    n = 40
    a, b = client(), client()
    sa = a.subscribe(queue)
    sb = b.subscribe(queue)
    log(f"send {n} messages to two competing consumers")
    p = client()
    for i in range(n):
        p.send(queue, f"m{i}", receipt=(i == n - 1))
    wait_for(lambda: len(a.bodies(sa)) + len(b.bodies(sb)) >= n, what=f"{n} messages across both consumers")
    assert stays_true(lambda: len(a.bodies(sa)) + len(b.bodies(sb)) == n), "a message was delivered twice"
    got = a.bodies(sa) + b.bodies(sb)
    assert sorted(got) == sorted(f"m{i}" for i in range(n))
    assert len(set(got)) == n
    # ActiveMQ dispatches round-robin among consumers that are subscribed before the sends.
    assert a.bodies(sa), "consumer A got nothing"
    assert b.bodies(sb), "consumer B got nothing"


def test_topic_fans_out_to_every_subscriber(client, topic):
    """Every topic subscriber gets every message, in send order."""
    n = 10
    subs = []
    for _ in range(3):
        c = client()
        subs.append((c, c.subscribe(topic)))
    p = client()
    for i in range(n):
        p.send(topic, f"t{i}", receipt=(i == n - 1))
    for c, s in subs:
        c.wait_messages(n, s)
    for c, s in subs:
        assert stays_true(lambda: len(c.bodies(s)) == n, QUIET_WINDOW / 3)
        assert c.bodies(s) == [f"t{i}" for i in range(n)]


def test_topic_message_without_subscriber_is_dropped(client, topic):
    """A topic keeps nothing for subscribers that arrive later (non-durable)."""
    c = client()
    c.send(topic, "before")
    sub = c.subscribe(topic)
    c.send(topic, "after")
    c.wait_messages(1, sub)
    assert stays_true(lambda: len(c.messages) == 1)
    assert c.bodies(sub) == ["after"]


def test_queue_keeps_messages_until_a_consumer_arrives(client, queue):
    """Messages sent before any consumer exists are delivered in FIFO order later."""
    p = client()
    for i in range(5):
        p.send(queue, f"q{i}", headers={"persistent": "true"})
    c = client()
    sub = c.subscribe(queue)
    c.wait_messages(5, sub)
    assert stays_true(lambda: len(c.messages) == 5)
    assert c.bodies(sub) == [f"q{i}" for i in range(5)]


def test_priority_order_highest_first(client, queue):
    """Messages waiting on a queue are delivered by priority 9..0, FIFO within a priority."""
    p = client()
    sent = []
    for prio in [1, 5, 9, 3, 7, 2, 8, 4, 6, 9, 1]:
        body = f"p{prio}-{len(sent)}"
        sent.append((prio, len(sent), body))
        p.send(queue, body, headers={"priority": str(prio)})
    c = client()
    sub = c.subscribe(queue)
    c.wait_messages(len(sent), sub)
    expected = [b for _, _, b in sorted(sent, key=lambda t: (-t[0], t[1]))]
    assert c.bodies(sub) == expected
    assert [m.headers["priority"] for m in c.messages] == [b.split("-")[0][1:] for b in expected]


def test_timestamp_is_broker_clock_in_ms(client, queue):
    """The timestamp header is milliseconds since the epoch, close to now."""
    c = client()
    sub = c.subscribe(queue)
    before = int(time.time() * 1000)
    c.send(queue, "ts")
    (msg,) = c.wait_messages(1, sub)
    after = int(time.time() * 1000)
    assert before - 1000 <= int(msg.headers["timestamp"]) <= after + 1000
