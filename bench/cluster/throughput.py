#!/usr/bin/env python3
"""Persistent send throughput of a 3-node replicated cluster vs a single node, and the
catch-up time of a node that was down while 100,000 messages were sent (issue 4).

Same client for both: `ferromq bench` over STOMP, persistent 1 KiB messages, a receipt
for every send (each send waits until the store has it: fsync on one node, or committed
on a quorum of the cluster). The single node uses the journal store (fsync per batch); the
cluster uses product defaults. Then, on a fresh cluster: one slave is killed, CATCH_UP
messages are sent (4 producers, pipelined), the slave is restarted and the time until its
applied index reaches the master's log is measured.

Writes its section of docs/benchmarks.md (between `<!-- BEGIN cluster-throughput -->` and
`<!-- END cluster-throughput -->`) unless OUT=/dev/null.

usage: bench/cluster/throughput.py     (about 2 minutes)
environment: DURATION=5 REPS=3 CATCH_UP=100000 FERROMQ_BIN BUILD=0 WORK_DIR OUT
"""

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from common import (ROOT, Node, accepts, bench, cluster_ports, cpu_seconds, die, ferromq_bin,
                    status, wait_healthy, write_section)

DURATION = os.environ.get("DURATION", "5")
REPS = int(os.environ.get("REPS", "3"))
CATCH_UP = int(os.environ.get("CATCH_UP", "100000"))
OUT = os.environ.get("OUT", str(ROOT / "docs" / "benchmarks.md"))


def send_rates(binary, targets):
    """Median msg/s and median broker CPU µs per message (the target's nodes together) per
    producer count, for each `(name, stomp_port, nodes)` target. Runs alternate between
    the targets (single, cluster, single, ...) so that a change in the machine's load hits
    both alike."""
    out = {name: {} for name, _, _ in targets}
    for producers in (1, 8):
        runs = {name: ([], []) for name, _, _ in targets}
        for _ in range(REPS):
            for name, stomp_port, nodes in targets:
                before = cpu_seconds(nodes)
                r = bench(binary, stomp_port, producers, ["--receipts", "--duration", DURATION])
                runs[name][1].append((cpu_seconds(nodes) - before) / max(r["sent"], 1) * 1e6)
                runs[name][0].append(r["sent_per_sec"])
        for name, (rates, cpu) in runs.items():
            out[name][producers] = (statistics.median(rates), statistics.median(cpu))
            print(f"  {name}, {producers} producer(s): {out[name][producers][0]:.0f} msg/s, "
                  f"{out[name][producers][1]:.0f} µs broker CPU per message (runs: "
                  f"{', '.join(f'{r:.0f}' for r in rates)})", flush=True)
    return out


def stop_all(nodes):
    for n in nodes:
        n.stop()


def main():
    binary = ferromq_bin()
    work = Path(os.environ.get("WORK_DIR") or tempfile.mkdtemp(prefix="ferromq-cluster-",
                                                                  dir="/var/tmp"))
    # Both run at once (an idle cluster only heartbeats) and the bench alternates between
    # them.
    single = [Node(0, work / "single", binary, cluster_ports(1), replicated=False)]
    ports = cluster_ports()
    nodes = [Node(i, work / "cluster", binary, ports) for i in range(3)]
    for n in single + nodes:
        n.start()
    try:
        deadline = time.time() + 30
        while not accepts(single[0].ports["stomp"]) and time.time() < deadline:
            time.sleep(0.1)
        m = wait_healthy(binary, nodes)
        rates = send_rates(binary, [("single node", single[0].ports["stomp"], single),
                                    ("3-node cluster", nodes[m].ports["stomp"], nodes)])
        single_rates, cluster_rates = rates["single node"], rates["3-node cluster"]
    finally:
        stop_all(single + nodes)

    print(f"catch-up of {CATCH_UP} messages:", flush=True)
    ports = cluster_ports()
    nodes = [Node(i, work / "catchup", binary, ports) for i in range(3)]
    for n in nodes:
        n.start()
    try:
        m = wait_healthy(binary, nodes)
        slave = (m + 1) % 3
        nodes[slave].kill()
        t0 = time.time()
        r = bench(binary, nodes[m].ports["stomp"], 4, ["--count", str(CATCH_UP // 4)])
        send_secs = time.time() - t0
        rows = status(binary, nodes[m].config)
        target = max((row.get("last_log_index") or 0) for row in rows)
        t1 = time.time()
        nodes[slave].start()
        caught_up = None
        while time.time() - t1 < 600:
            rows = status(binary, nodes[m].config)
            row = next((row for row in rows if row.get("id") == slave + 1), {})
            if (row.get("applied_index") or 0) >= target:
                caught_up = time.time() - t1
                break
            time.sleep(0.05)
        if caught_up is None:
            die("the restarted node did not catch up within 600 s")
        print(f"  sent {r['sent']} in {send_secs:.1f} s; restarted node applied index "
              f"{target} after {caught_up:.2f} s", flush=True)
    finally:
        stop_all(nodes)
    report(single_rates, cluster_rates, r["sent"], send_secs, target, caught_up)
    if not os.environ.get("WORK_DIR"):
        # Our own temporary directory (the stores: up to a few GB); a WORK_DIR is kept.
        shutil.rmtree(work, ignore_errors=True)


def report(single, cluster, sent, send_secs, target, caught_up):
    host = subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()
    rows = "\n".join(
        f"| {p} | {single[p][0]:.0f} msg/s | {cluster[p][0]:.0f} msg/s | "
        f"{100 * cluster[p][0] / single[p][0]:.0f} % | {single[p][1]:.0f} µs | "
        f"{cluster[p][1]:.0f} µs |" for p in (1, 8))
    load = os.getloadavg()[0]
    text = f"""<!-- BEGIN cluster-throughput -->
## Replicated cluster vs single node (bench/cluster/throughput.py)

{time.strftime('%Y-%m-%d')}, {host}, {os.cpu_count()} cores, all processes on this machine.
`ferromq bench` over STOMP, persistent 1 KiB messages, a receipt for every send, {DURATION} s
per run, median of {REPS}, single-node and cluster runs alternating. Single node: journal
store (fsync per batch). Cluster: 3 nodes, a send is answered once a quorum has it (each
node fsyncs per batch).

| producers | single node | 3-node cluster | cluster / single | broker CPU per message, single | same, the 3 nodes together |
|---|---|---|---|---|---|
{rows}

Broker CPU: user + system time of the broker processes (`/proc/PID/stat`) over a run ÷
messages sent; load average {load:.1f} at the end of the run.

Target (issue 4): cluster ≥ 50 % of a single node.

Catch-up: one slave killed, {sent} persistent messages sent (4 producers, pipelined) in
{send_secs:.1f} s, slave restarted: its applied index reached the master's log ({target})
{caught_up:.2f} s after the restart (process start, log replay from the master, fsync).
<!-- END cluster-throughput -->
"""
    print(text)
    write_section(OUT, "cluster-throughput", text)


if __name__ == "__main__":
    main()
