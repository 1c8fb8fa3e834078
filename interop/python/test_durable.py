"""Durable topic subscriptions: client-id + activemq.subscriptionName."""

from conftest import log, stays_true


def durable(c, topic, name):
    return c.subscribe(topic, headers={"activemq.subscriptionName": name})


def test_durable_subscriber_receives_messages_published_while_offline(client, topic, uid):
    """Messages published while a durable subscriber is away are delivered when it returns."""
    cid, name = f"cid-{uid}", f"dur-{uid}"
    s = client(client_id=cid)
    durable(s, topic, name)
    s.disconnect()
    log("publish 3 persistent messages while the subscriber is offline")
    p = client()
    for i in range(3):
        p.send(topic, f"d{i}", headers={"persistent": "true"})
    log("the subscriber comes back with the same client-id and name")
    s2 = client(client_id=cid)
    sub = durable(s2, topic, name)
    s2.wait_messages(3, sub)
    assert stays_true(lambda: len(s2.messages) == 3)
    assert s2.bodies(sub) == ["d0", "d1", "d2"]


def test_durable_and_plain_subscribers_differ_while_offline(client, topic, uid):
    """While both are offline, only the durable subscription keeps the message."""
    cid_d, cid_p = f"cid-d-{uid}", f"cid-p-{uid}"
    d = client(client_id=cid_d)
    durable(d, topic, f"dur-{uid}")
    d.disconnect()
    p = client()
    p.send(topic, "kept", headers={"persistent": "true"})
    plain = client(client_id=cid_p)
    ps = plain.subscribe(topic)
    d2 = client(client_id=cid_d)
    ds = durable(d2, topic, f"dur-{uid}")
    d2.wait_messages(1, ds)
    assert stays_true(lambda: len(d2.messages) == 1 and len(plain.messages) == 0)
    assert d2.bodies(ds) == ["kept"]
    assert plain.bodies(ps) == []


def test_unsubscribe_with_subscription_name_removes_durable_subscription(client, topic, uid):
    """UNSUBSCRIBE carrying activemq.subscriptionName deletes the subscription and its backlog."""
    cid, name = f"cid-{uid}", f"dur-{uid}"
    s = client(client_id=cid)
    sub = durable(s, topic, name)
    log("unsubscribe with activemq.subscriptionName, then disconnect")
    s.conn.unsubscribe(id=sub, headers={"activemq.subscriptionName": name, "receipt": "unsub-1"})
    s.wait_receipt("unsub-1")
    s.disconnect()
    p = client()
    p.send(topic, "nobody-keeps-this", headers={"persistent": "true"})
    log("resubscribing creates a fresh subscription that has only later messages")
    s2 = client(client_id=cid)
    sub2 = durable(s2, topic, name)
    p.send(topic, "after", headers={"persistent": "true"})
    s2.wait_messages(1, sub2)
    assert stays_true(lambda: len(s2.messages) == 1)
    assert s2.bodies(sub2) == ["after"]


def test_durable_subscription_survives_plain_unsubscribe(client, topic, uid):
    """A plain UNSUBSCRIBE (no subscriptionName) only deactivates: the backlog is kept."""
    cid, name = f"cid-{uid}", f"dur-{uid}"
    s = client(client_id=cid)
    sub = durable(s, topic, name)
    s.conn.unsubscribe(id=sub, headers={"receipt": "unsub-plain"})
    s.wait_receipt("unsub-plain")
    s.disconnect()
    p = client()
    p.send(topic, "kept", headers={"persistent": "true"})
    s2 = client(client_id=cid)
    sub2 = durable(s2, topic, name)
    s2.wait_messages(1, sub2)
    assert stays_true(lambda: len(s2.messages) == 1)
    assert s2.bodies(sub2) == ["kept"]


def test_active_durable_subscriber_gets_non_persistent_messages(client, topic, uid):
    """While its consumer is connected a durable subscription receives non-persistent
    messages too (ActiveMQ keeps them only while the subscriber is active)."""
    s = client(client_id=f"cid-{uid}")
    sub = durable(s, topic, f"dur-{uid}")
    p = client()
    p.send(topic, "np")
    p.send(topic, "p", headers={"persistent": "true"})
    s.wait_messages(2, sub)
    assert stays_true(lambda: len(s.messages) == 2)
    assert s.bodies(sub) == ["np", "p"]
