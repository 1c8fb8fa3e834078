#!/usr/bin/env python3
"""Interleaved A/B of two ferromq binaries as 3-node replicated clusters: both clusters run
at once (an idle cluster only heartbeats), and `ferromq bench` runs alternate between them
(A, B, A, B, ...), so a change in the machine's speed hits both alike. Persistent 1 KiB
messages over STOMP with a receipt for every send, as in throughput.py.

Prints the median msg/s and the median CPU µs per message of the three nodes together, and
every run. Writes nothing; copy what matters into docs/benchmarks.md by hand.

usage: bench/cluster/ab.py BINARY_A BINARY_B
environment: REPS=5 PRODUCERS=1 DURATION=5
             ENV_A / ENV_B: one NAME=VALUE set for that cluster's nodes only
             (e.g. ENV_B=TOKIO_WORKER_THREADS=1)
"""

import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import Node, bench, cluster_ports, cpu_seconds, die, wait_healthy

REPS = int(os.environ.get("REPS", "5"))
PRODUCERS = os.environ.get("PRODUCERS", "1")
DURATION = os.environ.get("DURATION", "5")


def start_cluster(name, binary, work):
    ports = cluster_ports()
    nodes = [Node(i, work / name, binary, ports) for i in range(3)]
    extra = os.environ.get(f"ENV_{name}")
    saved = dict(os.environ)
    if extra:
        key, value = extra.split("=", 1)
        os.environ[key] = value
    try:
        for n in nodes:
            n.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nodes


def main():
    if len(sys.argv) != 3:
        die(__doc__)
    work = Path(tempfile.mkdtemp(prefix="ferromq-ab-", dir="/var/tmp"))
    clusters = {}
    try:
        for name, binary in (("A", sys.argv[1]), ("B", sys.argv[2])):
            clusters[name] = (binary, start_cluster(name, binary, work))
        masters = {name: wait_healthy(b, nodes) for name, (b, nodes) in clusters.items()}
        results = {name: ([], []) for name in clusters}
        for _ in range(REPS):
            for name, (binary, nodes) in clusters.items():
                port = nodes[masters[name]].ports["stomp"]
                before = cpu_seconds(nodes)
                out = bench(binary, port, PRODUCERS, ["--receipts", "--duration", DURATION])
                results[name][0].append(out["sent_per_sec"])
                results[name][1].append((cpu_seconds(nodes) - before) / max(out["sent"], 1) * 1e6)
        for name, (rates, cpu) in results.items():
            print(f"{name} ({clusters[name][0]}): median {statistics.median(rates):.0f} msg/s, "
                  f"{statistics.median(cpu):.0f} µs CPU per message; runs "
                  f"{', '.join(f'{r:.0f}' for r in rates)} msg/s, "
                  f"{', '.join(f'{c:.0f}' for c in cpu)} µs", flush=True)
    finally:
        for _, nodes in clusters.values():
            for n in nodes:
                n.stop()


if __name__ == "__main__":
    main()
