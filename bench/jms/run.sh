#!/usr/bin/env bash
# Side-by-side OpenWire benchmark: the SAME Java JMS load program (bench/jms/JmsLoad.java, plain
# ActiveMQConnectionFactory from activemq-client 5.17.2) against ferromq (release build, journal
# with fsync) and against Apache ActiveMQ 5.17 (Debian package, KahaDB with fsync), one broker at
# a time, a freshly started broker with an empty data directory for every workload.
# Writes its section "OpenWire (Java JMS client)" of docs/benchmarks.md (between the BEGIN/END
# markers; the rest of the file is left alone) and a copy to bench/jms/results.md.
#
# PREREQUISITES (Debian/Ubuntu):
#     apt-get install -y activemq libactivemq-java openjdk-17-jdk-headless   # broker, client jars, javac
#     a Rust toolchain (cargo) to build ferromq, plus ss (iproute2), awk, python3
#
# usage: bench/jms/run.sh          (about 8-10 minutes)
#
# environment (all optional):
#   FERROMQ_BIN     ferromq binary to use (default: <CARGO_TARGET_DIR or repo/target>/release/ferromq,
#                   built with `cargo build --release -p ferromq` first; BUILD=0 skips the build)
#   WORK_DIR        scratch directory for broker data (default: mktemp -d under /var/tmp; must be a real
#                   disk, not tmpfs, or fsync costs nothing)
#   REPS=3          runs of every workload per broker; the report shows medians
#   DURATION=5      seconds per timed send workload
#   NP_COUNT=100000 non-persistent messages sent in the non-persistent workload (a count, not a duration:
#                   ferromq blocks non-persistent producers once its memory_limit (256 MiB, ~200k such
#                   messages with nobody consuming) is reached; see notes.md)
#   BACKLOG=100000  persistent messages queued before the consume measurement
#   LAT_RATE=500 LAT_DURATION=10   fixed-rate end-to-end latency workload
#   WORKLOADS="send1 send8 nonpersist consume latency"
#   OUT=<repo>/docs/benchmarks.md  (OUT=/dev/null: do not touch it)
#   REPORT_ONLY=1 WORK_DIR=<scratch dir of an earlier run>: only rewrite the report from its results
#                   (e.g. after editing notes.md)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
AMQ_SCRIPTS="$ROOT/bench/activemq"      # start-activemq.sh / stop-activemq.sh / conf (copies kept in the repo)
AMQ_HOME=/usr/share/activemq
REPS="${REPS:-3}"
DURATION="${DURATION:-5}"
BACKLOG="${BACKLOG:-100000}"
NP_COUNT="${NP_COUNT:-100000}"
LAT_RATE="${LAT_RATE:-500}"
LAT_DURATION="${LAT_DURATION:-10}"
WORKLOADS="${WORKLOADS:-send1 send8 nonpersist consume latency}"
OUT="${OUT:-$ROOT/docs/benchmarks.md}"
JARS=(activemq-client geronimo-jms_1.1_spec hawtbuf geronimo-j2ee-management-1.1-spec slf4j-api slf4j-nop)

die() { echo "jms/run.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
[ -f "$AMQ_HOME/bin/activemq.jar" ] || die "ActiveMQ not found in $AMQ_HOME: apt-get install -y activemq"
command -v javac >/dev/null || die "javac not found: apt-get install -y openjdk-17-jdk-headless"
command -v ss >/dev/null || die "ss not found: apt-get install -y iproute2"
command -v python3 >/dev/null || die "python3 not found"
CP=""
for j in "${JARS[@]}"; do
  [ -f "/usr/share/java/$j.jar" ] || die "/usr/share/java/$j.jar missing: apt-get install -y libactivemq-java"
  CP="$CP${CP:+:}/usr/share/java/$j.jar"
done

REPORT_ONLY="${REPORT_ONLY:-0}"
[ "$REPORT_ONLY" = 1 ] && { BUILD=0; FERROMQ_BIN="${FERROMQ_BIN:-/bin/true}"; [ -f "${WORK_DIR:-}/results/meta" ] || die "REPORT_ONLY needs WORK_DIR of an earlier run"; }
if [ "${BUILD:-1}" = 1 ] && [ -z "${FERROMQ_BIN:-}" ]; then
  echo "building ferromq (release)..." >&2
  (cd "$ROOT" && cargo build --release -p ferromq >&2)
fi
FMQ="${FERROMQ_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/ferromq}"
case "$FMQ" in /*) ;; *) FMQ="$ROOT/$FMQ" ;; esac
[ -x "$FMQ" ] || die "no ferromq binary at $FMQ"

WORK_DIR="${WORK_DIR:-$(mktemp -d /var/tmp/ferromq-jmsbench.XXXXXX)}"
mkdir -p "$WORK_DIR"
RESULTS="$WORK_DIR/results"
mkdir -p "$RESULTS" "$WORK_DIR/classes"
[ "$REPORT_ONLY" = 1 ] || : > "$RESULTS/problems"
echo "scratch directory: $WORK_DIR" >&2
javac -cp "$CP" -d "$WORK_DIR/classes" "$HERE/JmsLoad.java"
CP="$CP:$WORK_DIR/classes"
T_START="$(date +%s)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- brokers
BROKER_PID=""; BROKER_KIND=""; BROKER_DIR=""; OW_PORT=""

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then echo "$p"; return; fi
  done
}
# Ready when the process owns a listening socket on the port (checked with ss, not by connecting:
# a bare connect + close is logged by ferromq as a connection reset).
listening() { ss -Hltnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"; }

start_broker() {   # start_broker KIND TAG
  local kind="$1" tag="$2" stomp console i
  BROKER_KIND="$kind"; BROKER_DIR="$WORK_DIR/$kind-$tag"
  rm -rf "$BROKER_DIR"; mkdir -p "$BROKER_DIR"
  OW_PORT="$(free_port)"; stomp="$(free_port)"; console="$(free_port)"
  if [ "$kind" = activemq ]; then
    BROKER_PID="$("$AMQ_SCRIPTS/start-activemq.sh" "$BROKER_DIR" "$OW_PORT" none)" ||
      die "ActiveMQ did not start (see $BROKER_DIR/broker.log)"
  else
    # Defaults: journal store with sync = true (fdatasync before a send is answered).
    "$FMQ" broker --data-dir "$BROKER_DIR" --stomp "127.0.0.1:$stomp" \
      --openwire "127.0.0.1:$OW_PORT" --console "127.0.0.1:$console" \
      > "$BROKER_DIR/broker.log" 2>&1 < /dev/null &
    BROKER_PID=$!
    for i in $(seq 1 3000); do
      kill -0 "$BROKER_PID" 2>/dev/null || { tail -20 "$BROKER_DIR/broker.log" >&2; die "ferromq exited during start-up"; }
      listening "$BROKER_PID" "$OW_PORT" && break
      sleep 0.01
    done
    listening "$BROKER_PID" "$OW_PORT" || die "ferromq did not open its OpenWire port within 30 s"
  fi
  echo "[$kind/$tag] pid $BROKER_PID, OpenWire 127.0.0.1:$OW_PORT" >&2
}

stop_broker() {
  [ -n "$BROKER_PID" ] || return 0
  if kill -0 "$BROKER_PID" 2>/dev/null; then
    if [ "$BROKER_KIND" = activemq ]; then
      "$AMQ_SCRIPTS/stop-activemq.sh" "$BROKER_DIR" 9 >/dev/null   # data is thrown away: no clean shutdown needed
    else
      kill -TERM "$BROKER_PID"
      local i
      for i in $(seq 1 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$BROKER_PID" 2>/dev/null; then
        echo "ferromq $(basename "$BROKER_DIR"): needed SIGKILL 10 s after SIGTERM" >> "$RESULTS/problems"
        kill -9 "$BROKER_PID" 2>/dev/null || true
      fi
    fi
  else
    echo "$BROKER_KIND $(basename "$BROKER_DIR"): broker process had died before the end of the workload" >> "$RESULTS/problems"
  fi
  wait "$BROKER_PID" 2>/dev/null || true
  if [ "$BROKER_KIND" = ferromq ]; then
    # Keep the log lines worth a look (warnings, errors, panics) for the report.
    grep -aiE 'warn|error|panic' "$BROKER_DIR/broker.log" | head -20 |
      sed "s/^/ferromq $(basename "$BROKER_DIR") log: /" >> "$RESULTS/problems" || true
  fi
  BROKER_PID=""
  rm -rf "$BROKER_DIR"
}
trap 'stop_broker; echo "scratch directory kept: $WORK_DIR" >&2' EXIT

# jms KIND NAME ARGS...: one JmsLoad run; JSON line appended to $RESULTS/KIND.NAME.jsonl
jms() {
  local kind="$1" name="$2" line; shift 2
  echo "[$kind/$name] JmsLoad $*" >&2
  line="$(timeout 300 java -Xms256m -Xmx1g -cp "$CP" JmsLoad --url "tcp://127.0.0.1:$OW_PORT" "$@" | tail -1)" || true
  [ -n "$line" ] || line='{"error":"JmsLoad printed nothing (killed after 300 s?)"}'
  echo "$line" >&2
  echo "$line" >> "$RESULTS/$kind.$name.jsonl"
  if echo "$line" | grep -qE '"error"|"missing":[1-9]|"duplicates":[1-9]|"extra_after_count":[1-9]'; then
    echo "$kind $name: $line" >> "$RESULTS/problems"
  fi
}

run_workload() {   # run_workload KIND WORKLOAD REP
  local kind="$1" w="$2" rep="$3"
  start_broker "$kind" "$w-$rep"
  case "$w" in
    send1)      jms "$kind" send1 --mode send --producers 1 --persistent --duration "$DURATION" ;;
    send8)      jms "$kind" send8 --mode send --producers 8 --persistent --duration "$DURATION" ;;
    nonpersist) jms "$kind" nonpersist --mode send --producers 1 --non-persistent --count "$NP_COUNT" ;;
    consume)
      jms "$kind" fill --mode fill --queue backlog --producers 4 --count "$BACKLOG"
      jms "$kind" consume --mode consume --queue backlog --count "$BACKLOG" ;;
    latency)    jms "$kind" latency --mode latency --persistent --rate "$LAT_RATE" --duration "$LAT_DURATION" ;;
    *) die "unknown workload $w" ;;
  esac
  stop_broker
}

if [ "$REPORT_ONLY" != 1 ]; then
# Repetitions are interleaved (rep 1 of every workload on both brokers, then rep 2, ...) and the
# two brokers alternate workload by workload, so background load hits both alike.
for rep in $(seq 1 "$REPS"); do
  for w in $WORKLOADS; do
    for kind in activemq ferromq; do run_workload "$kind" "$w" "$rep"; done
  done
done
T_END="$(date +%s)"
{
  echo "COMMIT='$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)'"
  echo "DIRTY='$(cd "$ROOT" && git status --porcelain --untracked-files=no -- crates Cargo.toml Cargo.lock 2>/dev/null | wc -l)'"
  echo "LOAD_START='$LOAD_START'"
  echo "LOAD_END='$(cut -d' ' -f1-3 /proc/loadavg)'"
  echo "SECS='$((T_END - T_START))'"
  echo "WHEN='$(date -u '+%Y-%m-%d %H:%M UTC')'"
  echo "REPS='$REPS' DURATION='$DURATION' NP_COUNT='$NP_COUNT' BACKLOG='$BACKLOG' LAT_RATE='$LAT_RATE' LAT_DURATION='$LAT_DURATION'"
} > "$RESULTS/meta"
fi

# ---------------------------------------------------------------- report
. "$RESULTS/meta"
AMQ_V="$(dpkg-query -W -f '${Version}' activemq 2>/dev/null || echo 5.17)"
export RESULTS REPS DURATION NP_COUNT BACKLOG LAT_RATE LAT_DURATION COMMIT DIRTY AMQ_V LOAD_START LOAD_END SECS WHEN
export NOTES="$HERE/notes.md" SECTION="$WORK_DIR/section.md"
python3 - <<'PY'
import json, os, statistics, glob
R = os.environ["RESULTS"]
D = os.environ["DURATION"]
def runs(kind, name):
    p = f"{R}/{kind}.{name}.jsonl"
    if not os.path.exists(p): return []
    out = []
    for l in open(p):
        try: out.append(json.loads(l))
        except ValueError: out.append({"error": "unparsable: " + l.strip()})
    return out
def med(kind, name, key):
    v = [r[key] for r in runs(kind, name) if "error" not in r and r.get(key) is not None]
    return (statistics.median(v), v) if v else (None, [])
def n(v, unit):
    if v is None: return "n/a"
    return f"{v:,.0f} msg/s" if unit == "msg/s" else f"{v:.2f} ms"
rows = [  # label, workload, key, unit, higher_is_better, target factor or None
    ("Persistent sync sends, 1 producer", "send1", "msg_per_sec", "msg/s", True, 2),
    ("Persistent sync sends, 8 producers", "send8", "msg_per_sec", "msg/s", True, 10),
    (f"Non-persistent sends, 1 producer ({int(os.environ['NP_COUNT']):,} messages)", "nonpersist", "msg_per_sec", "msg/s", True, 2),
    (f"Consume {int(os.environ['BACKLOG']):,} queued persistent messages, AUTO_ACK", "consume", "msg_per_sec", "msg/s", True, 5),
    (f"End-to-end latency p50 ({os.environ['LAT_RATE']} msg/s, {os.environ['LAT_DURATION']} s)", "latency", "p50_ms", "ms", False, None),
    ("End-to-end latency p99 (same)", "latency", "p99_ms", "ms", False, 1),
]
L = []
L.append("<!-- BEGIN openwire-jms: generated by bench/jms/run.sh; hand-written analysis in bench/jms/notes.md -->")
L.append("## OpenWire (Java JMS client)")
L.append("")
L.append(f"Generated by `bench/jms/run.sh` on {os.environ['WHEN']} (run took {os.environ['SECS']} s); ferromq at commit "
         f"`{os.environ['COMMIT']}`" + (f" plus uncommitted changes in {os.environ['DIRTY']} file(s) under crates/" if os.environ['DIRTY'] != '0' else "") + ".")
L.append("")
L.append("Both brokers are driven by the same program, `bench/jms/JmsLoad.java` (plain `ActiveMQConnectionFactory`, "
         "Debian's activemq-client 5.17.2, OpenWire over TCP on 127.0.0.1, one connection per producer/consumer, "
         "1 KiB BytesMessages, default prefetch 1000). Every workload runs on a freshly started broker with an empty "
         f"data directory, {os.environ['REPS']} run(s) per broker (interleaved); the table shows medians, the runs are listed below it.")
L.append(f"ferromq: release build, `ferromq broker` defaults (journal store, fdatasync before a send is answered). "
         f"ActiveMQ {os.environ['AMQ_V']} (Debian): KahaDB defaults (fsync per write batch, concurrentStoreAndDispatchQueues=true), "
         "`-Xms512M -Xmx512M`, started by `bench/activemq/start-activemq.sh`.")
L.append("")
L.append("Ratio: how many times better ferromq is (throughput: ferromq ÷ ActiveMQ; latency: ActiveMQ ÷ ferromq).")
L.append("")
L.append("| Workload | ActiveMQ | ferromq | Ratio | Target |")
L.append("|---|---:|---:|---:|---|")
for label, w, key, unit, hib, target in rows:
    a, _ = med("activemq", w, key); f, _ = med("ferromq", w, key)
    ratio = None
    if a is not None and f is not None and a > 0 and f > 0:
        ratio = f / a if hib else a / f
    rs = f"{ratio:.2f}×" if ratio is not None else "n/a"
    if target is None: ts = "—"
    elif unit == "ms": ts = "below ActiveMQ's " + ("(met)" if ratio is not None and ratio > 1 else "(**not met**)")
    else: ts = f"≥ {target}× " + ("(met)" if ratio is not None and ratio >= target else "(**not met**)")
    L.append(f"| {label} | {n(a, unit)} | {n(f, unit)} | {rs} | {ts} |")
fa, _ = med("activemq", "fill", "msg_per_sec"); ff, _ = med("ferromq", "fill", "msg_per_sec")
la, _ = med("activemq", "latency", "max_ms"); lf, _ = med("ferromq", "latency", "max_ms")
ra, _ = med("activemq", "latency", "sent_per_sec"); rf, _ = med("ferromq", "latency", "sent_per_sec")
L.append("")
L.append(f"Also measured: filling the backlog (4 producers, asynchronous persistent sends, each producer's last send synchronous): "
         f"ActiveMQ {n(fa, 'msg/s')}, ferromq {n(ff, 'msg/s')}. Latency workload: max latency (median of runs) ActiveMQ {n(la, 'ms')}, ferromq {n(lf, 'ms')}; "
         f"send rate actually reached (the producer's sends are synchronous, so a slow fsync holds it back) ActiveMQ {n(ra, 'msg/s')}, ferromq {n(rf, 'msg/s')}.")
L.append(f"Load average (1/5/15 min) at start {os.environ['LOAD_START']}, at end {os.environ['LOAD_END']} (2 cores, shared with other jobs).")
L.append("")
L.append("How the numbers are taken: sends run for a fixed time after all connections are up; a persistent send is "
         f"the JMS default synchronous send (returns after the broker's Response), {D} s per run; non-persistent sends are one-way and each "
         "producer's last send is a synchronous persistent one, so only messages the broker has handled count. Consumption: "
         "the clock runs from `createConsumer` to the last message; duplicates (producer/sequence properties) and messages "
         "beyond the count are checked. Latency: 1 producer (persistent, synchronous) at a fixed rate plus 1 consumer "
         "(own connection, MessageListener, AUTO_ACK); each message carries `bench_ts` = `System.nanoTime()` "
         "before `send()`; p50/p99 over all samples.")
L.append("")
L.append("Commands (the same for both brokers; `--url tcp://127.0.0.1:PORT` added):")
L.append("")
L.append("```")
D = os.environ["DURATION"]
L.append(f"java JmsLoad --mode send --producers 1 --persistent --duration {D}")
L.append(f"java JmsLoad --mode send --producers 8 --persistent --duration {D}")
L.append(f"java JmsLoad --mode send --producers 1 --non-persistent --count {os.environ['NP_COUNT']}")
L.append(f"java JmsLoad --mode fill --queue backlog --producers 4 --count {os.environ['BACKLOG']}; java JmsLoad --mode consume --queue backlog --count {os.environ['BACKLOG']}")
L.append(f"java JmsLoad --mode latency --persistent --rate {os.environ['LAT_RATE']} --duration {os.environ['LAT_DURATION']}")
L.append("```")
L.append("")
L.append("Runs (value per run, in run order):")
L.append("")
for label, w, key, unit, hib, target in rows + [("Backlog fill", "fill", "msg_per_sec", "msg/s", True, None), ("Latency max", "latency", "max_ms", "ms", False, None)]:
    for kind in ("activemq", "ferromq"):
        vals = []
        for r in runs(kind, w):
            vals.append("error" if "error" in r else (f"{r[key]:,.0f}" if unit == "msg/s" else f"{r[key]:.2f}"))
        L.append(f"- {label}, {kind}: {', '.join(vals) or 'no runs'} {unit}")
probs = [l.rstrip() for l in open(f"{R}/problems")] if os.path.exists(f"{R}/problems") else []
L.append("")
if probs:
    L.append("Problems seen during the run:")
    L.append("")
    for p in probs[:40]: L.append(f"- `{p[:400]}`")
else:
    L.append("No client errors, lost, duplicate or extra messages, broker warnings or shutdown problems in this run.")
notes = os.environ["NOTES"]
if os.path.exists(notes):
    L.append("")
    L.append(open(notes).read().rstrip())
L.append("<!-- END openwire-jms -->")
open(os.environ["SECTION"], "w").write("\n".join(L) + "\n")
PY

cp "$SECTION" "$HERE/results.md"
if [ "$OUT" != /dev/null ]; then
  # Replace only our section (between the markers) in the freshest copy of the file, or append it.
  python3 - "$OUT" "$SECTION" <<'PY'
import sys, os
out, sec = sys.argv[1], open(sys.argv[2]).read()
b, e = "<!-- BEGIN openwire-jms", "<!-- END openwire-jms -->"
doc = open(out).read() if os.path.exists(out) else ""
i, j = doc.find(b), doc.find(e)
if i >= 0 and j > i:
    doc = doc[:i] + sec.rstrip("\n") + doc[j + len(e):]
else:
    doc = doc.rstrip("\n") + ("\n\n" if doc else "") + sec
tmp = out + ".jmstmp"
open(tmp, "w").write(doc)
os.replace(tmp, out)
PY
  echo "updated the OpenWire section of $OUT (copy in bench/jms/results.md)" >&2
fi
cat "$SECTION"
