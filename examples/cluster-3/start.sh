#!/usr/bin/env bash
# Starts the seed's three-node cluster on this machine: OpenWire 61616/61617/61618,
# STOMP 61613/61614/61615, replication 61619/61629/61639. One node is elected master and
# serves clients; the others stand by. Stop with Ctrl-C (all three stop).
#
#   examples/cluster-3/start.sh
#   # clients: failover:(tcp://127.0.0.1:61616,tcp://127.0.0.1:61617,tcp://127.0.0.1:61618)?randomize=false
#   target/release/ferromq cluster status --config examples/cluster-3/node1.toml
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${FERROMQ_BIN:-$root/target/release/ferromq}"
[ -x "$bin" ] || (cd "$root" && cargo build --release -p ferromq)
cd "$here"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for i in 1 2 3; do
  mkdir -p "data/node$i"
  "$bin" broker --config "node$i.toml" 2> "data/node$i.log" &
  pids+=($!)
  echo "node $i: pid $!, log examples/cluster-3/data/node$i.log"
done
wait
