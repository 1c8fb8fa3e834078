"""Shared fixtures for the stomp.py interop suite.

The broker address comes from ``FERROMQ_STOMP`` (``host:port``); the Rust driver
``crates/ferromq/tests/interop/main.rs`` starts the broker(s) and sets it. To run by hand:

    target/debug/ferromq broker --data-dir /tmp/fq --stomp 127.0.0.1:61613 &
    FERROMQ_STOMP=127.0.0.1:61613 python3 -m pytest -q -p no:cacheprovider interop/python

Waits poll a predicate (``wait_for``); nothing sleeps for a fixed time to "let messages
arrive". Where a test must prove that *no* further message comes, it either sends a marker
behind the messages and waits for the marker (FIFO per producer), or watches a named quiet
window (``QUIET_WINDOW``).
"""

import os
import socket
import threading
import time
import uuid

import pytest
import stomp

# Time budgets, named so that they are tuned in one place.
WAIT_TIMEOUT = 5.0  # longest wait for something that must happen (loopback, ~1 ms normally)
QUIET_WINDOW = 0.25  # how long "nothing more arrives" is watched
POLL_INTERVAL = 0.01

VERSIONS = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}
DLQ = "/queue/ActiveMQ.DLQ"

def parse_addr(value):
    host, port = value.rsplit(":", 1)
    return host, int(port)


def broker_addr():
    value = os.environ.get("FERROMQ_STOMP")
    if not value:
        pytest.fail("FERROMQ_STOMP (host:port of a running ferromq broker) is not set")
    return parse_addr(value)


def log(msg):
    """Phase marker, shown by pytest when a test fails."""
    print(f"--- {msg}", flush=True)


def poll(predicate, timeout):
    """Polls `predicate` until it is true or `timeout` seconds pass; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)


def wait_for(predicate, timeout=WAIT_TIMEOUT, what="condition"):
    """Polls `predicate` until it is true; fails the test after `timeout` seconds."""
    if not poll(predicate, timeout):
        pytest.fail(f"timed out after {timeout}s waiting for {what}")


def stays_true(predicate, window=QUIET_WINDOW):
    """True if `predicate` holds during the whole window (used for "nothing else arrives")."""
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        if not predicate():
            return False
        time.sleep(POLL_INTERVAL)
    return predicate()


class Collector(stomp.ConnectionListener):
    """Records every frame the connection receives."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []
        self.receipts = []
        self.errors = []
        self.connected_frames = []
        self.heartbeats = 0
        self.heartbeat_times = []
        self.connected_at = None
        self.disconnected = False

    def on_connected(self, frame):
        with self.lock:
            self.connected_at = time.monotonic()
            self.connected_frames.append(frame)

    def on_message(self, frame):
        with self.lock:
            self.messages.append(frame)

    def on_receipt(self, frame):
        with self.lock:
            self.receipts.append(frame.headers.get("receipt-id"))

    def on_error(self, frame):
        with self.lock:
            self.errors.append(frame)

    def on_heartbeat(self):
        with self.lock:
            self.heartbeats += 1
            self.heartbeat_times.append(time.monotonic())

    def on_disconnected(self):
        self.disconnected = True

    def for_sub(self, sub_id):
        with self.lock:
            return [m for m in self.messages if m.headers.get("subscription") == sub_id]

    def bodies(self, sub_id=None):
        with self.lock:
            msgs = list(self.messages)
        if sub_id is not None:
            msgs = [m for m in msgs if m.headers.get("subscription") == sub_id]
        return [m.body for m in msgs]


class Client:
    """A stomp.py connection plus the listener that collects what it receives."""

    def __init__(self, version, addr, client_id=None, heartbeats=(0, 0), auto_decode=True,
                 heart_beat_receive_scale=1.5):
        cls = VERSIONS[version]
        kwargs = {"host_and_ports": [addr], "auto_decode": auto_decode, "reconnect_attempts_max": 1}
        if version != "1.0":
            kwargs["heartbeats"] = heartbeats
            kwargs["heart_beat_receive_scale"] = heart_beat_receive_scale
        self.version = version
        self.conn = cls(**kwargs)
        self.listener = Collector()
        self.conn.set_listener("collector", self.listener)
        headers = {}
        if client_id is not None:
            headers["client-id"] = client_id
        self.conn.connect(wait=True, headers=headers)
        self._sub_seq = 0

    # --- frames -------------------------------------------------------------------------

    def subscribe(self, destination, ack="auto", headers=None, receipt=True):
        """Subscribes and waits for the broker's RECEIPT, so no later send can race it."""
        self._sub_seq += 1
        sub_id = f"sub-{self._sub_seq}"
        headers = dict(headers or {})
        if receipt:
            headers["receipt"] = f"subscribe-{uuid.uuid4()}"
        if self.version == "1.0":
            headers["id"] = sub_id
            self.conn.subscribe(destination, ack=ack, headers=headers)
        else:
            self.conn.subscribe(destination, id=sub_id, ack=ack, headers=headers)
        if receipt:
            self.wait_receipt(headers["receipt"])
        return sub_id

    def send(self, destination, body, headers=None, receipt=True, **kw):
        headers = dict(headers or {})
        if receipt:
            headers["receipt"] = f"send-{uuid.uuid4()}"
        self.conn.send(destination, body, headers=headers, **kw)
        if receipt:
            self.wait_receipt(headers["receipt"])

    def ack(self, msg, transaction=None):
        h = msg.headers
        if self.version == "1.2":
            self.conn.ack(h["ack"], transaction=transaction)
        elif self.version == "1.1":
            self.conn.ack(h["message-id"], h["subscription"], transaction=transaction)
        else:
            self.conn.ack(h["message-id"], transaction=transaction)

    def nack(self, msg):
        h = msg.headers
        if self.version == "1.2":
            self.conn.nack(h["ack"])
        else:
            self.conn.nack(h["message-id"], h["subscription"])

    def sync(self):
        """Round trip through the broker: every frame sent before has been processed."""
        rid = f"sync-{uuid.uuid4()}"
        # A receipt on a harmless frame: BEGIN/ABORT of a throwaway transaction.
        tx = f"sync-tx-{uuid.uuid4()}"
        self.conn.begin(transaction=tx)
        self.conn.abort(transaction=tx, headers={"receipt": rid})
        self.wait_receipt(rid)

    def wait_receipt(self, receipt_id, timeout=WAIT_TIMEOUT):
        wait_for(lambda: receipt_id in self.listener.receipts, timeout, f"RECEIPT {receipt_id}")

    def wait_messages(self, n, sub_id=None, timeout=WAIT_TIMEOUT):
        """Waits until at least `n` messages (on `sub_id`, if given) arrived; returns them."""
        if sub_id is None:
            get = lambda: list(self.listener.messages)  # noqa: E731
        else:
            get = lambda: self.listener.for_sub(sub_id)  # noqa: E731
        wait_for(lambda: len(get()) >= n, timeout, f"{n} message(s) on {sub_id or 'any subscription'}")
        return get()

    def disconnect(self):
        """DISCONNECT with a receipt; returns once the broker answered and the socket closed."""
        if self.conn.is_connected():
            rid = f"disconnect-{uuid.uuid4()}"
            self.conn.disconnect(receipt=rid)
            self.wait_receipt(rid)
            wait_for(lambda: self.listener.disconnected, what="socket close after DISCONNECT")

    def close(self):
        """Teardown: DISCONNECT if still connected, never fails (the socket may be gone)."""
        try:
            if self.conn.is_connected():
                rid = f"close-{uuid.uuid4()}"
                self.conn.disconnect(receipt=rid)
                poll(lambda: self.listener.disconnected, WAIT_TIMEOUT)
        except Exception:  # noqa: BLE001 - best effort on a possibly dropped socket
            pass

    @property
    def messages(self):
        return self.listener.messages

    def bodies(self, sub_id=None):
        return self.listener.bodies(sub_id)

    def for_sub(self, sub_id):
        return self.listener.for_sub(sub_id)


@pytest.fixture
def addr():
    return broker_addr()


@pytest.fixture
def client(addr):
    """Factory: ``client(version="1.2", at=None, client_id=None, heartbeats=(0, 0), auto_decode=True)``.

    ``at`` is another broker's (host, port); the default is ``FERROMQ_STOMP``.

    Every client it made is disconnected when the test ends.
    """
    made = []

    def make(version="1.2", at=None, **kw):
        c = Client(version, at or addr, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def uid():
    """A short unique token; tests build destination names and selector keys from it."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def queue(uid):
    return f"/queue/interop.{uid}"


@pytest.fixture
def topic(uid):
    return f"/topic/interop.{uid}"


def raw_socket(addr, timeout=WAIT_TIMEOUT):
    s = socket.create_connection(addr, timeout=timeout)
    return s
