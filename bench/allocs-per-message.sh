#!/bin/bash
# libc malloc calls per message in the broker and in the client: a count that, unlike time,
# does not move with the machine's load. Starts a fresh broker, warms it up, then counts
# `malloc` (a perf uprobe on libc) in both processes around one `ferromq bench` run
# (1 producer + 1 consumer, non-persistent 1 KiB, AUTO ack unless told otherwise).
# Needs root (uprobes) and perf.
#
#   bench/allocs-per-message.sh [BINARY] [COUNT] [extra bench args, e.g. --ack dups-ok]
#
# Where they come from: `perf record -e probe_libc:malloc --call-graph dwarf -p PID`.
set -euo pipefail
BIN=${1:-target/release/ferromq}
N=${2:-100000}
shift $(($# < 2 ? $# : 2))
LIBC=$(ldd "$BIN" | awk '/libc\.so/{print $3}')
perf probe -q -x "$LIBC" malloc 2>/dev/null || true
dir=$(mktemp -d)
read -r ow stomp console < <(python3 -c 'import socket
ss=[socket.socket() for _ in range(3)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))')
"$BIN" broker --data-dir "$dir/data" --openwire "127.0.0.1:$ow" --stomp "127.0.0.1:$stomp" \
    --console "127.0.0.1:$console" >"$dir/log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$ow") 2>/dev/null && break
    sleep 0.1
done
# Warm-up.
"$BIN" bench --url "tcp://127.0.0.1:$ow" --producers 1 --consumers 1 --non-persistent \
    --size 1024 --json --count 20000 "$@" >/dev/null 2>&1
perf stat -e probe_libc:malloc -p "$broker" -o "$dir/broker.txt" &
stat=$!
sleep 0.3
perf stat -e probe_libc:malloc -o "$dir/client.txt" \
    "$BIN" bench --url "tcp://127.0.0.1:$ow" --producers 1 --consumers 1 --non-persistent \
    --size 1024 --json --count "$N" "$@" >/dev/null 2>&1
kill -INT "$stat"
wait "$stat" 2>/dev/null || true
for side in broker client; do
    awk -v n="$N" -v side="$side" '/probe_libc:malloc/{gsub(",","",$1); printf "%s: %.2f mallocs per message\n", side, $1/n}' "$dir/$side.txt"
done
