#!/usr/bin/env python3
"""Writes small seed corpora into fuzz/corpus/<target>/ (not committed; regenerate any time).

stomp_decode: hand-written frames. selector_parse: a few selectors.
journal_read: tiny segments in the record format of crates/journal/src/record.rs.
openwire_decode: every hex frame in testdata/openwire-captures/*.jsonl.
"""
import glob, hashlib, json, os, struct, sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "fuzz", "corpus")

def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

# --- STOMP
for f in [
    b"CONNECT\naccept-version:1.2\nhost:localhost\nlogin:guest\npasscode:guest\n\n\x00",
    b"STOMP\naccept-version:1.0,1.1,1.2\nheart-beat:1000,1000\n\n\x00",
    b"SEND\ndestination:/queue/a\ncontent-type:text/plain\ncontent-length:5\nreceipt:r1\n\nhello\x00",
    b"SEND\ndestination:/queue/a\n\nno length\x00\n\n",
    b"SUBSCRIBE\nid:0\ndestination:/topic/t\nack:client-individual\nselector:a > 1\n\n\x00",
    b"MESSAGE\r\nsubscription:0\r\nmessage-id:m\\c1\\n\\r\\\\\r\ndestination:/queue/a\r\n\r\nbody\x00\r\n",
    b"\n\n\r\nACK\nid:m1\ntransaction:tx\n\n\x00NACK\nid:m2\n\n\x00",
    b"BEGIN\ntransaction:tx\n\n\x00COMMIT\ntransaction:tx\n\n\x00DISCONNECT\nreceipt:77\n\n\x00",
    b"SEND\ndestination:/queue/bin\ncontent-length:4\n\n\x00\x01\x00\x02\x00",
]:
    put("stomp_decode", f)

# --- selectors
for s in [
    "JMSType = 'car' AND color LIKE 'bl%' AND weight > 2500",
    "a BETWEEN -5 AND 10 OR b NOT IN ('x', 'y')",
    "s LIKE '%\\_x\\_' ESCAPE '\\'",
    "NOT (flag = TRUE) AND off IS NOT NULL",
    "f * 2.5e3 / (a - 1) >= -inf + 0x1F",
    "JMSPriority > 3 AND JMSDeliveryMode = 'PERSISTENT' /* c */",
    "empty IS NULL OR c < d AND nan <> nan",
    "",
]:
    put("selector_parse", s.encode())

# --- journal segments: [len u32][crc32c u32][kind u8][term u64][index u64][payload]
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def record(kind, term, index, payload):
    body = struct.pack("<BQQ", kind, term, index) + payload
    return struct.pack("<II", len(body), crc32c(body)) + body

put("journal_read", record(1, 0, 1, b"hello"))
put("journal_read", b"".join(record(k % 3, 1, i, b"x" * i) for k, i in enumerate(range(1, 6))))
put("journal_read", record(2, 3, 7, b"") + record(2, 3, 8, b"payload") + b"\x00" * 32)
put("journal_read", record(1, 0, 1, b"a") + record(1, 0, 2, b"torn")[:-2])
put("journal_read", record(1, 0, 5, b"gap") + record(1, 0, 9, b"after gap"))

# --- OpenWire: each captured chunk as-is, plus each connection's stream per direction
n = 0
for path in sorted(glob.glob(os.path.join(root, "testdata", "openwire-captures", "*.jsonl"))):
    streams = {}
    for line in open(path):
        ev = json.loads(line)
        if "hex" in ev:
            raw = bytes.fromhex(ev["hex"])
            put("openwire_decode", raw)
            n += 1
            key = (ev.get("conn"), ev.get("dir"))
            streams[key] = streams.get(key, b"") + raw
    for s in streams.values():
        put("openwire_decode", s[:65536])
for t in sorted(os.listdir(out)):
    print(t, len(os.listdir(os.path.join(out, t))))
