#!/usr/bin/env python3
"""One producer and one consumer running together, non-persistent 1 KiB messages through the
broker, flat out (issue 5's throughput target): ferromq and ActiveMQ 5.17 side by side, each
driven by the Rust client (`ferromq bench --url`) and by the Java client (activemq-client 5.17,
`bench/jms/JmsLoad.java --mode latency` at a rate it cannot reach, a MessageListener consumer).

Every repetition starts each broker once, warms it up with WARMUP messages (ActiveMQ's JIT),
then runs the workloads one after the other; repetitions alternate the brokers, so a change
in the machine's load hits both alike. Reported per run: messages received per second (from
the first send to the last arrival), CPU of the client process and of the broker process per
message (utime + stime; load-independent, unlike the rate).

Writes its section of docs/benchmarks.md (between `<!-- BEGIN client-throughput -->` and
`<!-- END client-throughput -->`) unless OUT=/dev/null.

usage: bench/client-throughput.py        (about 3 minutes with the defaults)
environment: REPS=3 COUNT=200000 WARMUP=20000 FERROMQ_BIN BUILD=0 WORK_DIR OUT
prerequisites: apt-get install -y activemq libactivemq-java openjdk-17-jdk-headless
"""

import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "cluster"))
from common import ROOT, die, ferromq_bin, free_port, write_section  # noqa: E402

REPS = int(os.environ.get("REPS", "3"))
COUNT = int(os.environ.get("COUNT", "200000"))
WARMUP = int(os.environ.get("WARMUP", "20000"))
OUT = os.environ.get("OUT", str(ROOT / "docs" / "benchmarks.md"))
JARS = ["activemq-client", "geronimo-jms_1.1_spec", "hawtbuf",
        "geronimo-j2ee-management-1.1-spec", "slf4j-api", "slf4j-nop"]
TICK = os.sysconf("SC_CLK_TCK")
BIN = None  # set by main(): ferromq_bin()


def wait_port(port, secs=60):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    die(f"nothing listens on {port} after {secs} s")


def cpu_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_client(cmd):
    """Runs a client; its last stdout line as JSON and its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [l for l in r.stdout.strip().splitlines() if l.startswith("{")]
    if r.returncode != 0 or not lines:
        die(f"{' '.join(cmd[:4])} failed: {r.stderr.strip()[-400:]}")
    return json.loads(lines[-1]), cpu


class Ferromq:
    name = "ferromq"

    def __init__(self, work):
        self.dir = work / f"ferromq-{time.time_ns()}"
        self.dir.mkdir(parents=True)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [BIN, "broker", "--data-dir", str(self.dir / "data"), "--openwire",
             f"127.0.0.1:{self.port}", "--stomp", f"127.0.0.1:{free_port()}", "--console",
             f"127.0.0.1:{free_port()}"],
            stdout=open(self.dir / "log", "w"), stderr=subprocess.STDOUT)
        wait_port(self.port)
        self.pid = self.proc.pid

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


class ActiveMq:
    name = "ActiveMQ 5.17"

    def __init__(self, work):
        self.dir = work / f"activemq-{time.time_ns()}"
        self.port = free_port()
        r = subprocess.run([str(ROOT / "bench/activemq/start-activemq.sh"), str(self.dir),
                            str(self.port), "none"], capture_output=True, text=True)
        if r.returncode != 0:
            die(f"ActiveMQ did not start: {r.stderr.strip()[-400:]}")
        self.pid = int((self.dir / "broker.pid").read_text().strip())

    def stop(self):
        subprocess.run([str(ROOT / "bench/activemq/stop-activemq.sh"), str(self.dir)],
                       capture_output=True)


def rust(broker, extra, count=COUNT):
    out, cpu = run_client([BIN, "bench", "--url", f"tcp://127.0.0.1:{broker.port}",
                           "--producers", "1", "--consumers", "1", "--non-persistent",
                           "--size", "1024", "--count", str(count), "--json"] + extra)
    if out.get("received", 0) < count:
        die(f"Rust client on {broker.name}: received {out.get('received')} of {count}")
    return out["received_per_sec"], cpu


def java(broker, classes, count=COUNT):
    cp = ":".join(f"/usr/share/java/{j}.jar" for j in JARS) + f":{classes}"
    out, cpu = run_client(["java", "-Xms256m", "-Xmx1g", "-cp", cp, "JmsLoad", "--url",
                           f"tcp://127.0.0.1:{broker.port}", "--mode", "latency",
                           "--non-persistent", "--size", "1024", "--rate", "1000000",
                           "--duration", str(count / 1000000), "--idle-timeout", "60000"])
    if out.get("error") or out.get("missing") or out.get("duplicates"):
        die(f"Java client on {broker.name}: {out}")
    return out["received_per_sec"], cpu


def main():
    global BIN
    BIN = ferromq_bin()
    for j in JARS:
        if not Path(f"/usr/share/java/{j}.jar").exists():
            die(f"/usr/share/java/{j}.jar missing: apt-get install -y libactivemq-java")
    if not Path("/usr/share/activemq/bin/activemq.jar").exists():
        die("ActiveMQ missing: apt-get install -y activemq")
    work = Path(os.environ.get("WORK_DIR") or tempfile.mkdtemp(prefix="client-tp-",
                                                                  dir="/var/tmp"))
    classes = work / "classes"
    classes.mkdir(parents=True, exist_ok=True)
    cp = ":".join(f"/usr/share/java/{j}.jar" for j in JARS)
    subprocess.run(["javac", "-cp", cp, "-d", str(classes), str(ROOT / "bench/jms/JmsLoad.java")],
                   check=True)

    # (broker class, workload name, run function)
    plan = [
        (Ferromq, [("Rust client, AUTO_ACKNOWLEDGE", lambda b: rust(b, [])),
                   ("Rust client, DUPS_OK_ACKNOWLEDGE", lambda b: rust(b, ["--ack", "dups-ok"])),
                   ("Java client, AUTO_ACKNOWLEDGE", lambda b: java(b, classes))]),
        (ActiveMq, [("Java client, AUTO_ACKNOWLEDGE", lambda b: java(b, classes)),
                    ("Rust client, AUTO_ACKNOWLEDGE", lambda b: rust(b, []))]),
    ]
    results = {}
    for rep in range(REPS):
        order = plan if rep % 2 == 0 else list(reversed(plan))
        for kind, workloads in order:
            broker = kind(work)
            try:
                java(broker, classes, WARMUP) if kind is ActiveMq else rust(broker, [], WARMUP)
                for name, fn in workloads:
                    b0 = cpu_of(broker.pid)
                    rate, client_cpu = fn(broker)
                    broker_cpu = cpu_of(broker.pid) - b0
                    row = results.setdefault((broker.name, name), [])
                    row.append((rate, client_cpu / COUNT * 1e6, broker_cpu / COUNT * 1e6))
                    print(f"  rep {rep + 1} {broker.name:14} {name:34} {rate:9.0f} msg/s  client "
                          f"{client_cpu / COUNT * 1e6:5.1f} us/msg  broker "
                          f"{broker_cpu / COUNT * 1e6:5.1f} us/msg", flush=True)
            finally:
                broker.stop()
    report(results)
    if not os.environ.get("WORK_DIR"):
        # Our own temporary directory (the stores: up to a few GB); a WORK_DIR is kept.
        shutil.rmtree(work, ignore_errors=True)


def report(results):
    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    base = results[("ActiveMQ 5.17", "Java client, AUTO_ACKNOWLEDGE")]
    lines = []
    for (broker, name), rows in results.items():
        runs = ", ".join(f"{r[0]:,.0f}" for r in rows)
        lines.append(f"| {broker} | {name} | {med(rows, 0):,.0f} | {med(rows, 0) / med(base, 0):.1f}× "
                     f"| {med(rows, 1):.1f} µs | {med(rows, 2):.1f} µs | {runs} |")
    host = subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    text = f"""<!-- BEGIN client-throughput -->
## One producer and one consumer, non-persistent, flat out (bench/client-throughput.py)

{time.strftime('%Y-%m-%d')}, {host}, {os.cpu_count()} cores, everything on this machine.
Non-persistent 1 KiB messages, one producer and one consumer running together in one client
process (each with its own connection), {COUNT:,} messages per run, median of {REPS}
repetitions; each repetition starts each broker once and warms it up with {WARMUP:,}
messages, brokers alternate between repetitions. Rust client: `ferromq bench --url`
(asynchronous sends in a 1 MiB producer window, the last one synchronous). Java client:
activemq-client 5.17 from Debian, `JmsLoad --mode latency` at a rate it cannot reach (plain
`send()`, a MessageListener consumer). Rate: messages received per second, from the first
send to the last arrival. CPU: user + system time per message, of the client process and of
the broker process (unlike the rate, it does not depend on what else the machine runs).
Load average at the end: {load:.1f}.

| broker | client | msg/s received | vs ActiveMQ + Java | client CPU / msg | broker CPU / msg | runs (msg/s) |
|---|---|---:|---:|---:|---:|---|
{chr(10).join(lines)}

Target (issue 5): ≥ 300,000 msg/s with the Rust client through ferromq on this machine.
<!-- END client-throughput -->"""
    print(text)
    write_section(OUT, "client-throughput", text + "\n")


if __name__ == "__main__":
    main()
