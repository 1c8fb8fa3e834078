#!/usr/bin/env bash
# Side-by-side STOMP benchmark: ferromq (release build, journal with fsync) against Apache
# ActiveMQ 5.17 (Debian package, KahaDB with fsync), driven by the SAME client
# (`ferromq bench`), in one run. Writes docs/benchmarks.md.
#
# PREREQUISITES (fresh Debian/Ubuntu machine):
#     apt-get install -y activemq        # ActiveMQ 5.17 in /usr/share/activemq (pulls in Java)
#     a Rust toolchain (cargo) to build ferromq, plus ss (iproute2) and awk
#
# usage: bench/run.sh            (from anywhere; takes about 5 minutes)
#
# environment (all optional):
#   CARGO_TARGET_DIR   where to build ferromq (default: <repo>/target)
#   FERROMQ_BIN        use this ferromq binary instead of building one
#   WORK_DIR           scratch directory for broker data (default: a fresh mktemp -d under /var/tmp;
#                      must be on a real disk, not tmpfs, or fsync costs nothing)
#   DURATION=10        seconds per timed send workload
#   BACKLOG=100000     messages queued before each consume-rate measurement
#   LAT_RATE=500 LAT_DURATION=10   fixed-rate end-to-end latency workload
#   OUT=<repo>/docs/benchmarks.md  report to write (bench/notes.md is appended to it)
#   ONLY="activemq ferromq"        brokers to run (the report needs both)
#
# Every workload runs on a freshly started broker with an empty data directory, so one
# workload's backlog cannot slow down the next. Each broker start is also a start-up
# time sample (launch -> STOMP port accepting connections).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/bench"
AMQ_HOME=/usr/share/activemq
DURATION="${DURATION:-10}"
BACKLOG="${BACKLOG:-100000}"
LAT_RATE="${LAT_RATE:-500}"
LAT_DURATION="${LAT_DURATION:-10}"
OUT="${OUT:-$ROOT/docs/benchmarks.md}"
ONLY="${ONLY:-activemq ferromq}"

die() { echo "run.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
[ -f "$AMQ_HOME/bin/activemq.jar" ] ||
  die "ActiveMQ not found in $AMQ_HOME. Install it first:  sudo apt-get install -y activemq"
command -v java >/dev/null || die "java not found (apt-get install -y activemq should pull it in)"
command -v ss >/dev/null || die "ss not found: apt-get install -y iproute2"
command -v awk >/dev/null || die "awk not found"

if [ -n "${FERROMQ_BIN:-}" ]; then
  FMQ="$FERROMQ_BIN"
else
  command -v cargo >/dev/null || die "cargo not found (install Rust, or set FERROMQ_BIN)"
  echo "building ferromq (release)..." >&2
  (cd "$ROOT" && cargo build --release -p ferromq >&2)
  FMQ="${CARGO_TARGET_DIR:-$ROOT/target}/release/ferromq"
  case "$FMQ" in /*) ;; *) FMQ="$ROOT/$FMQ" ;; esac
fi
[ -x "$FMQ" ] || die "no ferromq binary at $FMQ"

WORK_DIR="${WORK_DIR:-$(mktemp -d /var/tmp/ferromq-bench.XXXXXX)}"
mkdir -p "$WORK_DIR"
RESULTS="$WORK_DIR/results"
mkdir -p "$RESULTS"
echo "scratch directory: $WORK_DIR" >&2

# ---------------------------------------------------------------- helpers
BROKER_PID=""
BROKER_KIND=""
BROKER_DIR=""
STOMP_PORT=""

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then echo "$p"; return; fi
  done
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# start_broker KIND NAME: fresh data dir, free ports; records start-up time in $RESULTS/KIND.startup
start_broker() {
  local kind="$1" name="$2" ow console t0 t1
  BROKER_KIND="$kind"
  BROKER_DIR="$WORK_DIR/$kind-$name"
  rm -rf "$BROKER_DIR"; mkdir -p "$BROKER_DIR"
  STOMP_PORT="$(free_port)"; ow="$(free_port)"; console="$(free_port)"
  t0="$(now_ms)"
  if [ "$kind" = activemq ]; then
    # WAIT_FOR_PORT=0: return right after launching; we time the STOMP port ourselves.
    BROKER_PID="$(WAIT_FOR_PORT=0 "$HERE/activemq/start-activemq.sh" "$BROKER_DIR" "$ow" "$STOMP_PORT")"
  else
    "$FMQ" broker --data-dir "$BROKER_DIR" --stomp "127.0.0.1:$STOMP_PORT" \
      --openwire "127.0.0.1:$ow" --console "127.0.0.1:$console" \
      > "$BROKER_DIR/broker.log" 2>&1 < /dev/null &
    BROKER_PID=$!
  fi
  local i
  for i in $(seq 1 6000); do
    kill -0 "$BROKER_PID" 2>/dev/null || { tail -20 "$BROKER_DIR/broker.log" >&2; die "$kind exited during start-up"; }
    port_open "$STOMP_PORT" && break
    sleep 0.01
  done
  port_open "$STOMP_PORT" || die "$kind did not open its STOMP port within 60 s"
  t1="$(now_ms)"
  echo "$((t1 - t0))" >> "$RESULTS/$kind.startup"
  echo "[$kind/$name] started pid $BROKER_PID, STOMP 127.0.0.1:$STOMP_PORT in $((t1 - t0)) ms" >&2
}

stop_broker() {
  [ -n "$BROKER_PID" ] || return 0
  if kill -0 "$BROKER_PID" 2>/dev/null; then
    if [ "$BROKER_KIND" = activemq ]; then
      # The data directory is thrown away: no need for a clean (slow) shutdown.
      "$HERE/activemq/stop-activemq.sh" "$BROKER_DIR" 9 >/dev/null
    else
      kill -TERM "$BROKER_PID"
      local i
      for i in $(seq 1 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$BROKER_PID" 2>/dev/null; then
        echo "[ferromq] did not stop within 10 s of SIGTERM; killing" >&2
        echo "ferromq needed SIGKILL after SIGTERM (workload $BROKER_DIR)" >> "$RESULTS/problems"
        kill -9 "$BROKER_PID" 2>/dev/null || true
      fi
    fi
  fi
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
  rm -rf "$BROKER_DIR"
}
trap 'stop_broker; echo "scratch directory kept: $WORK_DIR" >&2' EXIT

# RSS sampler: appends VmRSS (kB) of $BROKER_PID to FILE.samples every 200 ms until killed;
# the peak is computed afterwards (no file is ever rewritten, so killing it is harmless).
start_sampler() {
  local file="$1" pid="$BROKER_PID"
  ( while kill -0 "$pid" 2>/dev/null; do rss_kb "$pid" >> "$file.samples"; sleep 0.2; done ) &
  SAMPLER=$!
  SAMPLER_FILE="$file"
}
stop_sampler() {
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true
  sort -n "$SAMPLER_FILE.samples" 2>/dev/null | tail -1 > "$SAMPLER_FILE"
}

# bench KIND NAME ARGS...: one `ferromq bench --json` run, kept in $RESULTS/KIND.NAME.json
bench() {
  local kind="$1" name="$2"; shift 2
  echo "[$kind/$name] ferromq bench $*" >&2
  "$FMQ" bench --stomp "127.0.0.1:$STOMP_PORT" --json "$@" > "$RESULTS/$kind.$name.json" ||
    { echo "[$kind/$name] bench FAILED" >&2; echo "$kind $name: bench failed: ferromq bench $*" >> "$RESULTS/problems"; }
  cat "$RESULTS/$kind.$name.json" >&2 || true
  if grep -q '"missing":[1-9]' "$RESULTS/$kind.$name.json" 2>/dev/null; then
    echo "$kind $name: messages missing: $(cat "$RESULTS/$kind.$name.json")" >> "$RESULTS/problems"
  fi
}

# fill KIND NAME QUEUE: queue BACKLOG persistent messages (4 producers, no receipts)
fill() {
  local kind="$1" name="$2" queue="$3"
  bench "$kind" "$name-fill" --queue "$queue" --producers 4 --count $((BACKLOG / 4)) --persistent
}

# ---------------------------------------------------------------- workloads
# run_workload KIND WORKLOAD
run_workload() {
  local kind="$1"
  case "$2" in
    send1)
      start_broker "$kind" send1
      sleep 3   # let the JVM / runtime settle before reading idle memory
      rss_kb "$BROKER_PID" > "$RESULTS/$kind.rss_idle"
      bench "$kind" send1 --producers 1 --duration "$DURATION" --persistent --receipts ;;
    send8)
      start_broker "$kind" send8
      start_sampler "$RESULTS/$kind.rss_load"
      bench "$kind" send8 --producers 8 --duration "$DURATION" --persistent --receipts
      stop_sampler ;;
    async1)
      start_broker "$kind" async1
      bench "$kind" async1 --producers 1 --duration "$DURATION" --persistent --no-receipts ;;
    drain-auto)
      start_broker "$kind" drain-auto
      fill "$kind" drain-auto backlog
      bench "$kind" drain-auto --queue backlog --consume-only --count "$BACKLOG" --ack auto ;;
    drain-ci)
      start_broker "$kind" drain-ci
      fill "$kind" drain-ci backlog
      bench "$kind" drain-ci --queue backlog --consume-only --count "$BACKLOG" --ack client-individual ;;
    latency)
      start_broker "$kind" latency
      start_sampler "$RESULTS/$kind.rss_steady"
      bench "$kind" latency --producers 1 --consumers 1 --rate "$LAT_RATE" --duration "$LAT_DURATION" \
        --persistent --receipts --ack client-individual
      stop_sampler ;;
  esac
  stop_broker
}

STARTED_AT="$(date -u '+%Y-%m-%d %H:%M UTC')"
T_BEGIN="$(now_ms)"
# Workloads outer, brokers inner: both brokers see the same machine conditions as closely as possible.
for workload in send1 send8 async1 drain-auto drain-ci latency; do
  for kind in $ONLY; do run_workload "$kind" "$workload"; done
done
T_END="$(now_ms)"

# ---------------------------------------------------------------- report
# field FILE KEY: a numeric field of a one-line JSON object ("" if absent/null)
field() { grep -o "\"$2\":[-0-9.e+]*" "$1" 2>/dev/null | head -1 | cut -d: -f2; }
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
fmt_int() { [ -n "$1" ] && awk -v v="$1" 'BEGIN {printf "%\047d", v + 0.5}' || echo "n/a"; }
fmt_ms() { [ -n "$1" ] && awk -v v="$1" 'BEGIN {printf "%.2f ms", v}' || echo "n/a"; }
fmt_mb() { [ -n "$1" ] && awk -v v="$1" 'BEGIN {printf "%.1f MB", v / 1024}' || echo "n/a"; }
# ratio A B: A / B with 2 decimals
ratio() { { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "n/a"}'; } || echo "n/a"; }
# verdict RATIO_A RATIO_B MIN: "met"/"NOT met" for A/B >= MIN
verdict() { { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN {print (b > 0 && a / b >= m) ? "met" : "**not met**"}'; } || echo "n/a"; }

A="$RESULTS/activemq"; F="$RESULTS/ferromq"
row_rate() { # label name key target_min
  local a f; a="$(field "$A.$2.json" "$3")"; f="$(field "$F.$2.json" "$3")"
  if [ -n "$4" ]; then
    echo "| $1 | $(fmt_int "$a") msg/s | $(fmt_int "$f") msg/s | $(ratio "$f" "$a") | ≥ $4× ($(verdict "$f" "$a" "$4")) |"
  else
    echo "| $1 | $(fmt_int "$a") msg/s | $(fmt_int "$f") msg/s | $(ratio "$f" "$a") | — |"
  fi
}
row_lat() { # label key
  local a f; a="$(field "$A.latency.json" "$2")"; f="$(field "$F.latency.json" "$2")"
  echo "| $1 | $(fmt_ms "$a") | $(fmt_ms "$f") | $(ratio "$a" "$f") | — |"
}
row_rss() { # label file target
  local a f; a="$(cat "$A.$2" 2>/dev/null || true)"; f="$(cat "$F.$2" 2>/dev/null || true)"
  local t="—"
  if [ -n "$3" ]; then
    t="≤ $3 MB ($( [ -n "$f" ] && [ "$f" -le $(( $3 * 1024 )) ] && echo met || echo '**not met**'))"
  fi
  echo "| $1 | $(fmt_mb "$a") | $(fmt_mb "$f") | $(ratio "$a" "$f") | $t |"
}
AS="$(median "$A.startup" 2>/dev/null || true)"; FS="$(median "$F.startup" 2>/dev/null || true)"

CPU="$(awk -F: '/model name/ {gsub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)"
MEM="$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
FS_TYPE="$(df -T "$WORK_DIR" | awk 'NR == 2 {print $2 " on " $1}')"
JAVA_V="$(java -version 2>&1 | head -1)"
AMQ_V="$(ls "$AMQ_HOME/lib" 2>/dev/null | sed -n 's/^activemq-broker-\(.*\)\.jar$/\1/p' | head -1)"
[ -n "$AMQ_V" ] || AMQ_V="$(dpkg-query -W -f '${Version}' activemq 2>/dev/null || echo 5.17)"
COMMIT="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
RUSTC_V="$(rustc --version 2>/dev/null || echo unknown)"

mkdir -p "$(dirname "$OUT")"
# Keep the sections other scripts maintain in the same file (bench/jms/run.sh's OpenWire
# section, bench/cluster/*.py's, the Rust client's) and the hand-written text between and
# after them: everything from the first `<!-- BEGIN ` marker to the end.
JMS_SECTION=""
if [ -f "$OUT" ]; then
  JMS_SECTION="$(sed -n '/^<!-- BEGIN /,$p' "$OUT")"
fi
{
cat <<EOF
# Benchmarks: ferromq vs ActiveMQ Classic (STOMP)

Generated by \`bench/run.sh\` on $STARTED_AT (run took $(( (T_END - T_BEGIN) / 1000 )) s); ferromq at commit \`$COMMIT\`.
Do not edit the generated part by hand: rerun the script. The analysis at the end comes from \`bench/notes.md\`.

Both brokers are driven by the same client, \`ferromq bench\` (STOMP 1.2 over TCP on 127.0.0.1,
one connection per producer/consumer, 1 KiB bodies, \`activemq.prefetchSize:1000\`), on the same machine.
Every workload starts from a freshly started broker with an empty data directory.

- **ferromq**: release build, \`ferromq broker\` with default settings: journal store, \`sync = true\`
  (fdatasync before a receipt is sent).
- **ActiveMQ $AMQ_V** (Debian package), KahaDB with its defaults (\`journalDiskSyncStrategy=always\`:
  fsync per write batch), \`-Xms512M -Xmx512M\`, started by \`bench/activemq/start-activemq.sh\`.

## Results

Ratio: how many times better ferromq is (throughput: ferromq ÷ ActiveMQ; latency, memory, start-up: ActiveMQ ÷ ferromq).

| Workload | ActiveMQ | ferromq | Ratio | Target |
|---|---:|---:|---:|---|
$(row_rate "Persistent sends with receipts, 1 producer (${DURATION} s)" send1 sent_per_sec 2)
$(row_rate "Persistent sends with receipts, 8 producers (${DURATION} s)" send8 sent_per_sec 10)
$(row_rate "Persistent sends without receipts, 1 producer (${DURATION} s)" async1 sent_per_sec 4)
$(row_rate "Consume a $(fmt_int "$BACKLOG") message backlog, ack=auto" drain-auto received_per_sec 4)
$(row_rate "Consume a $(fmt_int "$BACKLOG") message backlog, ack=client-individual" drain-ci received_per_sec 4)
$(row_lat "End-to-end latency p50 (${LAT_RATE} msg/s for ${LAT_DURATION} s, 1p/1c)" p50)
$(row_lat "End-to-end latency p99 (same)" p99)
$(row_lat "End-to-end latency max (same)" max)
$(row_rss "Broker RSS idle (3 s after start)" rss_idle 20)
$(row_rss "Broker RSS peak under load (8 producers with receipts)" rss_load "")
$(row_rss "Broker RSS peak, steady ${LAT_RATE} msg/s (latency workload)" rss_steady "")
| Start-up time, launch → STOMP port accepting (median of $(wc -l < "$A.startup" 2>/dev/null || echo 0) / $(wc -l < "$F.startup" 2>/dev/null || echo 0) starts) | $( [ -n "$AS" ] && echo "$AS ms" || echo n/a) | $( [ -n "$FS" ] && echo "$FS ms" || echo n/a) | $(ratio "$AS" "$FS") | — |

Also measured (backlog fill, 4 producers without receipts, $(fmt_int "$BACKLOG") messages):
ActiveMQ $(fmt_int "$(field "$A.drain-auto-fill.json" sent_per_sec)") msg/s, ferromq $(fmt_int "$(field "$F.drain-auto-fill.json" sent_per_sec)") msg/s.
EOF
if [ -s "$RESULTS/problems" ]; then
  echo
  echo "Problems seen during this run:"
  echo
  sed 's/^/- /' "$RESULTS/problems"
fi
cat <<EOF

## Machine

- CPU: $CPU, $(nproc) cores available; RAM $MEM
- Kernel: $(uname -sr); data directories on $FS_TYPE
- $JAVA_V; $RUSTC_V
- Client and broker share the machine (the client's CPU use counts against the broker).

## How the numbers are taken

- Sends: \`ferromq bench\` runs for a fixed time; "msg/s" counts messages the broker has
  acknowledged: with receipts every SEND waits for its RECEIPT; without, each producer's last
  SEND still asks for one, so bytes still sitting in socket buffers do not count.
- Consumption: the backlog is queued first (4 producers, no receipts); the clock starts just
  before SUBSCRIBE and stops at the last MESSAGE. With client-individual every message is ACKed
  (no receipt) as it arrives.
- Latency: every message carries a \`bench-ts\` header with its send time; the consumer takes
  now − bench-ts. Percentiles come from all samples, sorted. Sends use receipts (a JMS-style
  synchronous persistent send), the consumer acks client-individual.
- RSS: \`VmRSS\` from \`/proc/PID/status\` of the broker process (for ActiveMQ the java process),
  sampled every 200 ms for the peaks.
- Start-up: from launching the process (for ActiveMQ: the start script, which launches java at once)
  until a TCP connect to the STOMP port succeeds, polled every 10 ms; every workload start is a sample.

## Commands

Run everything: \`bench/run.sh\` (this run: DURATION=$DURATION BACKLOG=$BACKLOG LAT_RATE=$LAT_RATE LAT_DURATION=$LAT_DURATION).
The client invocations (the same for both brokers; \`--stomp HOST:PORT --json\` added to each):

\`\`\`
ferromq bench --producers 1 --duration $DURATION --persistent --receipts
ferromq bench --producers 8 --duration $DURATION --persistent --receipts
ferromq bench --producers 1 --duration $DURATION --persistent --no-receipts
ferromq bench --queue backlog --producers 4 --count $((BACKLOG / 4)) --persistent      # fill
ferromq bench --queue backlog --consume-only --count $BACKLOG --ack auto
ferromq bench --queue backlog --consume-only --count $BACKLOG --ack client-individual  # after a fresh fill
ferromq bench --producers 1 --consumers 1 --rate $LAT_RATE --duration $LAT_DURATION --persistent --receipts --ack client-individual
\`\`\`

Brokers:

\`\`\`
ferromq broker --data-dir DIR --stomp 127.0.0.1:PORT --openwire 127.0.0.1:PORT --console 127.0.0.1:PORT
WAIT_FOR_PORT=0 bench/activemq/start-activemq.sh DIR OPENWIRE_PORT STOMP_PORT
\`\`\`

Raw results (one JSON object per client run):

\`\`\`
EOF
for f in "$RESULTS"/*.json; do echo "$(basename "$f" .json): $(cat "$f")"; done
cat <<EOF
\`\`\`
EOF
if [ -f "$HERE/notes.md" ]; then echo; cat "$HERE/notes.md"; fi
if [ -n "$JMS_SECTION" ]; then echo; echo "$JMS_SECTION"; fi
} > "$OUT"
echo "wrote $OUT" >&2
rm -rf "$WORK_DIR"
trap - EXIT
