"""BEGIN / COMMIT / ABORT for sends and acks."""

import uuid

from conftest import log, stays_true


def tx_name():
    return f"tx-{uuid.uuid4().hex[:8]}"


def test_transacted_sends_are_invisible_until_commit(client, queue):
    """Messages sent in a transaction reach the consumer only after COMMIT, all of them, in order."""
    c = client()
    sub = c.subscribe(queue)
    p = client()
    tx = tx_name()
    p.conn.begin(transaction=tx)
    for i in range(3):
        p.send(queue, f"tx{i}", headers={"transaction": tx})
    log("before COMMIT: a non-transacted marker overtakes the transacted sends")
    p.send(queue, "marker")
    c.wait_messages(1, sub)
    assert stays_true(lambda: len(c.messages) == 1)
    assert c.bodies(sub) == ["marker"]
    log("COMMIT: the three transacted messages arrive")
    p.conn.commit(transaction=tx, headers={"receipt": "commit-1"})
    p.wait_receipt("commit-1")
    c.wait_messages(4, sub)
    assert stays_true(lambda: len(c.messages) == 4)
    assert c.bodies(sub) == ["marker", "tx0", "tx1", "tx2"]


def test_abort_discards_transacted_sends(client, queue):
    """ABORT throws away every send of the transaction."""
    p = client()
    tx = tx_name()
    p.conn.begin(transaction=tx)
    for i in range(3):
        p.send(queue, f"tx{i}", headers={"transaction": tx})
    p.conn.abort(transaction=tx, headers={"receipt": "abort-1"})
    p.wait_receipt("abort-1")
    p.send(queue, "marker")
    c = client()
    sub = c.subscribe(queue)
    c.wait_messages(1, sub)
    assert stays_true(lambda: len(c.messages) == 1)
    assert c.bodies(sub) == ["marker"]


def test_acks_in_aborted_transaction_come_back_redelivered(client, queue):
    """An ACK inside an aborted transaction does not count: the message returns redelivered:true."""
    p = client()
    p.send(queue, "work", headers={"persistent": "true"})
    c = client()
    sub = c.subscribe(queue, ack="client-individual")
    (msg,) = c.wait_messages(1, sub)
    tx = tx_name()
    c.conn.begin(transaction=tx)
    c.ack(msg, transaction=tx)
    c.conn.abort(transaction=tx, headers={"receipt": "abort-ack"})
    c.wait_receipt("abort-ack")
    c.disconnect()
    log("reconnect: the message is there again, marked redelivered")
    d = client()
    sub = d.subscribe(queue, ack="client-individual")
    (again,) = d.wait_messages(1, sub)
    assert stays_true(lambda: len(d.messages) == 1)
    assert again.body == "work"
    assert again.headers["redelivered"] == "true"
    d.ack(again)


def test_acks_in_committed_transaction_are_final(client, queue):
    """An ACK inside a committed transaction removes the message for good."""
    p = client()
    p.send(queue, "work", headers={"persistent": "true"})
    c = client()
    sub = c.subscribe(queue, ack="client-individual")
    (msg,) = c.wait_messages(1, sub)
    tx = tx_name()
    c.conn.begin(transaction=tx)
    c.ack(msg, transaction=tx)
    c.conn.commit(transaction=tx, headers={"receipt": "commit-ack"})
    c.wait_receipt("commit-ack")
    c.disconnect()
    d = client()
    sub = d.subscribe(queue)
    d.send(queue, "marker")
    d.wait_messages(1, sub)
    assert stays_true(lambda: len(d.messages) == 1)
    assert d.bodies(sub) == ["marker"]


def test_disconnect_with_open_transaction_discards_its_sends(client, queue):
    """A transaction still open at DISCONNECT is rolled back."""
    p = client()
    tx = tx_name()
    p.conn.begin(transaction=tx)
    p.send(queue, "lost", headers={"transaction": tx})
    p.disconnect()
    c = client()
    sub = c.subscribe(queue)
    c.send(queue, "marker")
    c.wait_messages(1, sub)
    assert stays_true(lambda: len(c.messages) == 1)
    assert c.bodies(sub) == ["marker"]
