"""Version negotiation, receipts, heart-beats, temp destinations, errors."""

import time
import uuid

import pytest

from conftest import log, raw_socket, stays_true, wait_for

# A client declaring heart-beats every HEARTBEAT_MS; the test watches for this many beats.
HEARTBEAT_MS = 200
BEATS_TO_SEE = 6
WINDOWS_TO_WATCH = 6


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_connected_frame_reports_negotiated_version(client, version):
    """CONNECTED names the version the client asked for (1.0 may omit it)."""
    c = client(version)
    (frame,) = c.listener.connected_frames
    if version == "1.0":
        assert frame.headers.get("version", "1.0") == "1.0"
    else:
        assert frame.headers["version"] == version
    assert frame.headers.get("session")


def test_highest_common_version_is_chosen(addr):
    """accept-version:1.0,1.1,1.2 negotiates 1.2."""
    s = raw_socket(addr)
    s.sendall(b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:localhost\n\n\x00")
    data = read_frame(s)
    assert data.startswith(b"CONNECTED\n"), data
    assert b"\nversion:1.2\n" in data, data
    s.close()


def read_frame(sock):
    """Reads one frame (up to NUL) from a raw socket, skipping heart-beat EOLs."""
    buf = b""
    while b"\x00" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.lstrip(b"\r\n")


def test_every_frame_with_receipt_gets_its_receipt(client, queue):
    """SUBSCRIBE, SEND, BEGIN, ACK, COMMIT, UNSUBSCRIBE and DISCONNECT each answer their receipt."""
    c = client()
    ids = {k: f"{k}-{uuid.uuid4().hex[:6]}" for k in
           ["subscribe", "send", "begin", "ack", "commit", "unsubscribe", "disconnect"]}
    c.conn.subscribe(queue, id="s1", ack="client-individual", headers={"receipt": ids["subscribe"]})
    c.conn.send(queue, "r", headers={"receipt": ids["send"]})
    (msg,) = c.wait_messages(1, "s1")
    c.conn.begin(transaction="t1", headers={"receipt": ids["begin"]})
    c.conn.ack(msg.headers["ack"], transaction="t1", receipt=ids["ack"])
    c.conn.commit(transaction="t1", headers={"receipt": ids["commit"]})
    c.conn.unsubscribe(id="s1", headers={"receipt": ids["unsubscribe"]})
    c.conn.disconnect(receipt=ids["disconnect"])
    for k in ids:
        c.wait_receipt(ids[k])
    assert sorted(c.listener.receipts) == sorted(ids.values())
    assert c.listener.errors == []


def test_heartbeats_are_negotiated(client):
    """heart-beat:200,200 in CONNECT: CONNECTED agrees to send and to expect heart-beats."""
    c = client(heartbeats=(HEARTBEAT_MS, HEARTBEAT_MS))
    (frame,) = c.listener.connected_frames
    sx, sy = (int(v) for v in frame.headers["heart-beat"].split(","))
    assert 0 < sx <= HEARTBEAT_MS, "broker must send heart-beats at least as often as asked"
    assert sy > 0, "broker must accept the client's heart-beats"


def test_heart_beating_client_stays_connected(client, queue):
    """A client that sends heart-beats every 200 ms (and sends nothing else) is kept for
    many heart-beat windows and still gets its messages."""
    c = client(heartbeats=(HEARTBEAT_MS, 0))
    until = time.monotonic() + HEARTBEAT_MS * WINDOWS_TO_WATCH / 1000
    log(f"stay idle for {WINDOWS_TO_WATCH} heart-beat windows")
    wait_for(lambda: time.monotonic() >= until or c.listener.disconnected,
             timeout=HEARTBEAT_MS * WINDOWS_TO_WATCH / 1000 + 2, what="the idle period to pass")
    assert not c.listener.disconnected, "broker dropped a client that was sending heart-beats"
    sub = c.subscribe(queue)
    c.send(queue, "still-alive")
    c.wait_messages(1, sub)
    assert c.bodies(sub) == ["still-alive"]


def test_broker_heartbeats_arrive_within_negotiated_interval(client):
    """With heart-beat:0,200 the broker writes at least every 200 ms. Gaps are measured with
    a client that tolerates silence (so it does not hang up itself); stomp.py's default
    grace is 1.5x, so gaps beyond 1.25x the interval are a real interop risk."""
    c = client(heartbeats=(0, HEARTBEAT_MS), heart_beat_receive_scale=20)
    wait_for(lambda: c.listener.heartbeats >= BEATS_TO_SEE,
             timeout=HEARTBEAT_MS * BEATS_TO_SEE * 3 / 1000,
             what=f"{BEATS_TO_SEE} heart-beats from the broker")
    (frame,) = c.listener.connected_frames
    times = [c.listener.connected_at] + c.listener.heartbeat_times[:BEATS_TO_SEE]
    gaps_ms = [round((b - a) * 1000) for a, b in zip(times, times[1:])]
    log(f"heart-beat gaps (ms): {gaps_ms}")
    assert max(gaps_ms) <= HEARTBEAT_MS * 1.25, f"broker heart-beat gaps {gaps_ms} exceed {HEARTBEAT_MS} ms"


def test_silent_client_is_dropped_after_its_heartbeat_window(addr):
    """A client that promised heart-beats every 200 ms and sends nothing is disconnected."""
    s = raw_socket(addr)
    s.sendall(b"CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:200,0\n\n\x00")
    assert read_frame(s).startswith(b"CONNECTED\n")
    start = time.monotonic()
    s.settimeout(5.0)
    closed = False
    while time.monotonic() - start < 5.0:
        try:
            chunk = s.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            closed = True
            break
    elapsed = time.monotonic() - start
    s.close()
    assert closed, "broker kept a silent client past 5 s"
    assert elapsed >= 0.2, f"dropped after {elapsed:.3f}s, before the 200 ms window even passed"


def test_temp_queue_request_reply_between_two_connections(client, queue):
    """Requester sends with reply-to:/temp-queue/x; the service answers to the rendered
    /remote-temp-queue/... and the requester gets the reply with its correlation-id."""
    requester, service = client(), client()
    ssub = service.subscribe(queue)
    rsub = requester.subscribe("/temp-queue/replies")
    requester.send(queue, "ping", headers={"reply-to": "/temp-queue/replies", "correlation-id": "c-42"})
    (req,) = service.wait_messages(1, ssub)
    reply_to = req.headers["reply-to"]
    assert reply_to.startswith("/remote-temp-queue/"), reply_to
    assert req.headers["correlation-id"] == "c-42"
    service.send(reply_to, "pong", headers={"correlation-id": req.headers["correlation-id"]})
    (rep,) = requester.wait_messages(1, rsub)
    assert stays_true(lambda: len(requester.messages) == 1)
    assert rep.body == "pong"
    assert rep.headers["correlation-id"] == "c-42"


def test_temp_queue_is_private_to_its_connection(client):
    """Two connections using the same /temp-queue/ name get different queues."""
    a, b = client(), client()
    sa = a.subscribe("/temp-queue/same")
    sb = b.subscribe("/temp-queue/same")
    a.send("/temp-queue/same", "for-a")
    b.send("/temp-queue/same", "for-b")
    a.wait_messages(1, sa)
    b.wait_messages(1, sb)
    assert stays_true(lambda: len(a.messages) == 1 and len(b.messages) == 1)
    assert a.bodies(sa) == ["for-a"]
    assert b.bodies(sb) == ["for-b"]


def test_unknown_command_gets_error_frame(addr):
    """A frame with an unknown command is answered with ERROR."""
    s = raw_socket(addr)
    s.sendall(b"CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00")
    assert read_frame(s).startswith(b"CONNECTED\n")
    s.sendall(b"FROBNICATE\nreceipt:x\n\n\x00")
    data = read_frame(s)
    assert data.startswith(b"ERROR\n"), data
    s.close()


def test_send_without_destination_gets_error_frame(addr):
    """SEND with no destination header is a protocol error reported with ERROR."""
    s = raw_socket(addr)
    s.sendall(b"CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00")
    assert read_frame(s).startswith(b"CONNECTED\n")
    s.sendall(b"SEND\n\nbody\x00")
    data = read_frame(s)
    assert data.startswith(b"ERROR\n"), data
    s.close()
