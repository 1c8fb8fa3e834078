"""Shared by the cluster benchmarks: three `ferromq broker` processes on free loopback
ports, their status, and writing a section of docs/benchmarks.md."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def die(msg):
    print(f"bench/cluster: {msg}", file=sys.stderr)
    sys.exit(1)


_HANDED_OUT = set()


def free_port():
    """A loopback port free now and never handed out before by this process (the kernel may
    give the same port to two `bind(0)` calls in a row once the first socket is closed, and
    a bench picks all its nodes' ports before any node binds them)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def ferromq_bin():
    if "FERROMQ_BIN" in os.environ:
        return os.environ["FERROMQ_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if os.environ.get("BUILD", "1") != "0":
        subprocess.run(["cargo", "build", "--release", "-p", "ferromq"], cwd=ROOT, check=True)
    return str(target / "release" / "ferromq")


def cluster_ports(n=3):
    return [{k: free_port() for k in ("ow", "stomp", "repl", "console")} for _ in range(n)]


class Node:
    """One broker; `ports` lists every node's ports (index i is this one's). With
    `replicated=False` it is a single node with the journal store."""

    def __init__(self, i, work, binary, ports, replicated=True):
        self.i = i
        self.binary = binary
        self.ports = ports[i]
        self.dir = work / f"node{i + 1}"
        self.dir.mkdir(parents=True, exist_ok=True)
        peers = ", ".join(f'"{j + 1}=tcp://127.0.0.1:{p["repl"]}"' for j, p in enumerate(ports))
        self.config = self.dir / "ferromq.toml"
        self.config.write_text(
            f'[broker]\nname = "node{i + 1}"\ndata_dir = "{self.dir / "data"}"\n'
            f'[listeners]\nopenwire = "127.0.0.1:{self.ports["ow"]}"\n'
            f'stomp = "127.0.0.1:{self.ports["stomp"]}"\n'
            f'[console]\nbind = "127.0.0.1:{self.ports["console"]}"\n'
            + (f'[persistence]\nkind = "replicated"\n'
               f'[persistence.replicated]\nreplicas = {len(ports)}\nnode_id = {i + 1}\n'
               f'bind = "tcp://127.0.0.1:{self.ports["repl"]}"\nhostname = "127.0.0.1"\n'
               f"peers = [{peers}]\n" if replicated else ""))
        self.proc = None

    def start(self):
        log = open(self.dir / "broker.log", "ab")
        self.proc = subprocess.Popen([self.binary, "broker", "--config", str(self.config)],
                                     stdout=log, stderr=subprocess.STDOUT)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def bench(binary, stomp_port, producers, extra):
    """One `ferromq bench` run over STOMP (persistent 1 KiB messages); its JSON result."""
    r = subprocess.run([binary, "bench", "--stomp", f"127.0.0.1:{stomp_port}",
                        "--producers", str(producers), "--size", "1024", "--persistent",
                        "--json"] + extra, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        die(f"bench failed: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cpu_seconds(nodes):
    """User + system CPU seconds the nodes' broker processes have used so far."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for n in nodes:
        with open(f"/proc/{n.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def status(binary, config):
    r = subprocess.run([binary, "cluster", "status", "--config", str(config), "--json",
                        "--timeout", "0.5"], capture_output=True, text=True)
    try:
        return json.loads(r.stdout)["nodes"]
    except (ValueError, KeyError):
        return []


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_healthy(binary, nodes, deadline_s=60):
    """Waits until one master serves OpenWire and every node is a member with lag < 50."""
    end = time.time() + deadline_s
    while time.time() < end:
        rows = status(binary, nodes[0].config)
        masters = [r for r in rows if r.get("role") == "master"]
        if len(rows) == 3 and len(masters) == 1 and all(
                r.get("role") in ("master", "slave") and (r.get("lag") or 0) < 50 for r in rows):
            m = masters[0]["id"] - 1
            if accepts(nodes[m].ports["ow"]):
                return m
        time.sleep(0.1)
    die("cluster not healthy within 60 s: " + json.dumps(status(binary, nodes[0].config)))



def write_section(out, name, text):
    """Replaces the section between `<!-- BEGIN name -->` and `<!-- END name -->` in `out`
    (appends it when missing); `out` = /dev/null writes nothing."""
    if out == "/dev/null":
        return
    path = Path(out)
    old = path.read_text() if path.exists() else ""
    b, e = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->\n"
    if b in old and e in old:
        new = old[:old.index(b)] + text + old[old.index(e) + len(e):]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)
