#!/bin/bash
# Broker CPU per message, independent of how busy the machine is: starts a fresh broker,
# reads its utime+stime from /proc/PID/stat around one `ferromq bench` run (1 producer +
# 1 consumer, non-persistent 1 KiB), prints CPU seconds, µs per message, context switches
# per message and the bench's rates. Repeat a few times; compare binaries interleaved.
#
#   bench/broker-cpu.sh [BINARY] [COUNT] [RUNS] [extra bench args, e.g. --ack dups-ok]
#
# Instruction counts (user space only, load-independent):
#   valgrind --tool=callgrind --instr-atstart=no BINARY broker ... ; callgrind_control -i on PID
#   around a 20,000-message bench run, then callgrind_annotate.
set -euo pipefail
BIN=${1:-target/release/ferromq}
N=${2:-200000}
RUNS=${3:-3}
shift $(($# < 3 ? $# : 3))
TCK=$(getconf CLK_TCK)
free_ports() {
    python3 -c 'import socket
ss=[socket.socket() for _ in range(3)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/{s+=$2} END{print s}'; }
for r in $(seq 1 "$RUNS"); do
    dir=$(mktemp -d)
    read -r ow stomp console < <(free_ports)
    "$BIN" broker --data-dir "$dir" --openwire "127.0.0.1:$ow" --stomp "127.0.0.1:$stomp" \
        --console "127.0.0.1:$console" >"$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        (echo >"/dev/tcp/127.0.0.1/$ow") 2>/dev/null && break
        sleep 0.1
    done
    sleep 1 # let start-up work (console password hash) finish outside the window
    t0=$(ticks $pid); c0=$(switches $pid)
    out=$("$BIN" bench --url "tcp://127.0.0.1:$ow" --producers 1 --consumers 1 \
        --non-persistent --count "$N" --json "$@" 2>/dev/null)
    t1=$(ticks $pid); c1=$(switches $pid)
    kill $pid
    wait $pid || true
    rm -rf "$dir"
    rates=$(echo "$out" | grep -o '"\(sent\|received\)_per_sec":[0-9]*' | tr '\n' ' ')
    echo "run $r: broker_cpu=$(echo "scale=2; ($t1-$t0)/$TCK" | bc)s" \
        "us_per_msg=$(echo "scale=2; ($t1-$t0)*1000000/$TCK/$N" | bc)" \
        "switches_per_msg=$(echo "scale=2; ($c1-$c0)/$N" | bc)" \
        "load=$(cut -d' ' -f1 /proc/loadavg) $rates"
done
