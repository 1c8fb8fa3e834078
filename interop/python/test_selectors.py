"""JMS selectors on SUBSCRIBE: properties, JMSPriority, JMSType, JMSCorrelationID."""

import pytest

from conftest import stays_true, wait_for


def split_by_selector(client, queue, selector, sends):
    """Sends `sends` (list of (body, headers)) to `queue` with two consumers subscribed: one
    with `selector`, one with ``NOT (selector)``. Returns (matching bodies, other bodies)."""
    c = client()
    yes = c.subscribe(queue, headers={"selector": selector})
    no = c.subscribe(queue, headers={"selector": f"NOT ({selector})"})
    p = client()
    for body, headers in sends:
        p.send(queue, body, headers=headers)
    n = len(sends)
    wait_for(lambda: len(c.messages) >= n, what=f"{n} messages across both selectors")
    assert stays_true(lambda: len(c.messages) == n)
    return c.bodies(yes), c.bodies(no)


def test_selector_on_string_property(client, queue):
    """color = 'red' picks exactly the red messages."""
    sends = [(f"m{i}", {"color": c}) for i, c in enumerate(["red", "blue", "red", "green", "red"])]
    yes, no = split_by_selector(client, queue, "color = 'red'", sends)
    assert yes == ["m0", "m2", "m4"]
    assert no == ["m1", "m3"]


def test_selector_with_in_and_like(client, queue):
    """IN and LIKE work on string properties."""
    sends = [
        ("a", {"region": "eu-west", "kind": "x"}),
        ("b", {"region": "us-east", "kind": "y"}),
        ("c", {"region": "eu-north", "kind": "z"}),
        ("d", {"region": "ap-south", "kind": "x"}),
    ]
    yes, no = split_by_selector(client, queue, "region LIKE 'eu-%' AND kind IN ('x', 'z')", sends)
    assert yes == ["a", "c"]
    assert no == ["b", "d"]


def test_selector_on_jms_priority(client, queue):
    """JMSPriority > 6 picks the messages sent with priority 7..9."""
    c = client()
    yes = c.subscribe(queue, headers={"selector": "JMSPriority > 6"})
    p = client()
    for prio in range(10):
        p.send(queue, f"p{prio}", headers={"priority": str(prio)})
    c.wait_messages(3, yes)
    assert stays_true(lambda: len(c.messages) == 3)
    assert sorted(c.bodies(yes)) == ["p7", "p8", "p9"]
    rest = client()
    rs = rest.subscribe(queue)
    rest.wait_messages(7, rs)
    assert stays_true(lambda: len(rest.messages) == 7)
    assert sorted(rest.bodies(rs)) == [f"p{i}" for i in range(7)]


def test_selector_on_jms_type(client, queue):
    """JMSType = 'order' matches the STOMP type header."""
    sends = [("o1", {"type": "order"}), ("i1", {"type": "invoice"}), ("o2", {"type": "order"})]
    yes, no = split_by_selector(client, queue, "JMSType = 'order'", sends)
    assert yes == ["o1", "o2"]
    assert no == ["i1"]


def test_selector_on_jms_correlation_id(client, queue):
    """JMSCorrelationID matches the correlation-id header."""
    sends = [("a", {"correlation-id": "c-1"}), ("b", {"correlation-id": "c-2"})]
    yes, no = split_by_selector(client, queue, "JMSCorrelationID = 'c-2'", sends)
    assert yes == ["b"]
    assert no == ["a"]


def test_selector_on_topic_subscription(client, topic):
    """Selectors filter topic subscriptions too; the unfiltered subscriber sees everything."""
    c = client()
    sel = c.subscribe(topic, headers={"selector": "color = 'red'"})
    allsub = c.subscribe(topic)
    p = client()
    for i, color in enumerate(["red", "blue", "red"]):
        p.send(topic, f"t{i}", headers={"color": color})
    wait_for(lambda: len(c.messages) >= 5, what="5 topic deliveries")
    assert stays_true(lambda: len(c.messages) == 5)
    assert c.bodies(sel) == ["t0", "t2"]
    assert c.bodies(allsub) == ["t0", "t1", "t2"]


@pytest.mark.parametrize("bad", ["color = ", "((a = 1)", "a IN ()"])
def test_invalid_selector_is_rejected_with_error(client, queue, bad):
    """A selector that does not parse yields an ERROR frame, not a silent match-all."""
    c = client()
    c.conn.subscribe(queue, id="bad", headers={"selector": bad})
    wait_for(lambda: len(c.listener.errors) >= 1, what="ERROR for an invalid selector")
