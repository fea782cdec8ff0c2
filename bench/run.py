#!/usr/bin/env python3
"""berth bench driver (issue #6).

Starts each server (berth, Node, the C reference) pinned to core 0, waits until it is ready, runs the C load generator
pinned to core 1, records one JSON line per measurement, and renders bench/results/LATEST.md with medians and ratios.
Implementations are interleaved inside every repetition (the order rotates), so slow drift on a shared machine hits all
three alike.

    python3 bench/run.py [--full] [--berth PATH] [--only SCENARIO[,SCENARIO]] [--reps N] [--out FILE]

Everything it starts is stopped on exit (normal, exception, SIGINT or SIGTERM); every wait has a deadline; traffic
goes only to 127.0.0.0/8 or into a network namespace it creates and deletes.
"""
import argparse
import atexit
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
BIN = os.path.join(BENCH, "bin")
SERVER_CPU, CLIENT_CPU = "0", "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
IMPLS = ["berth", "node", "c"]

# Ports: berth's are in the handler file names (bench/handlers/*/NAME.PROTO.PORT.port.js).
PORTS = {
    "echo-tcp": {"berth": 17100, "node": 17200, "c": 17300},
    "echo-udp": {"berth": 17101, "node": 17201, "c": 17301},
    "relay": {"berth": 17102, "node": 17202},
    "store": {"berth": 17103, "node": 17203},
    # HAProxy terminates TLS on its port and forwards to the C echo on PORTS["echo-tcp"]["c"].
    "tls-echo": {"berth": 17110, "node": 17210, "haproxy": 17310},
}

running = []  # every child process still alive, stopped by stop_all()
log_dir = tempfile.mkdtemp(prefix="berth-bench-")


def stop(proc, grace=5.0):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if proc in running:
        running.remove(proc)


def stop_all():
    for proc in list(running):
        stop(proc, grace=2.0)
    shutil.rmtree(log_dir, ignore_errors=True)


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)


def raise_nofile():
    """10,000 idle connections need more descriptors than the default; root may raise the hard limit."""
    want = 200_000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, PermissionError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """One server process pinned to the server core, with its log in a file; ready when `ready_text` appears."""

    def __init__(self, impl, scenario, berth, folder=None, grace="1s", args=()):
        self.impl, self.scenario = impl, scenario
        self.port = PORTS[scenario][impl]
        self.log = os.path.join(log_dir, f"{impl}-{scenario}-{time.monotonic_ns()}.log")
        if impl == "berth":
            argv = [berth, "serve", folder or os.path.join(BENCH, "handlers", scenario), "--bind", "127.0.0.1",
                    "--log-format", "json", "--grace", grace, "--cpu-budget", "60s"]
            ready_text = '"message":"listening'
        elif impl == "node":
            argv = ["node", os.path.join(BENCH, "node", scenario.replace("-", "_") + ".js"), str(self.port), *args]
            ready_text = "ready"
        else:
            argv = [os.path.join(BIN, scenario.replace("-", "_")), str(self.port)]
            ready_text = "ready"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL, cwd=ROOT)
        running.append(self.proc)
        self.pids = [self.proc.pid]  # taskset execs the server: same process
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if ready_text in open(self.log).read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        text = open(self.log).read()
        stop(self.proc)
        raise RuntimeError(f"{impl} server for {scenario} did not get ready:\n{text[-2000:]}")

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        stop(self.proc)


def loadgen(mode, port, server=None, timeout=120, **options):
    """Runs the load generator pinned to the client core; returns its JSON, plus the server's CPU share if given."""
    argv = ["taskset", "-c", CLIENT_CPU, os.path.join(BIN, "loadgen"), mode, "--port", str(port)]
    for key, value in options.items():
        argv += ["--" + key, str(value)]
    cpu0, t0 = (server.cpu_seconds(), time.monotonic()) if server else (0, 0)
    busy0, children0 = machine_busy_seconds(), children_cpu_seconds()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen {mode} failed ({done.returncode}): {done.stderr.strip()}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if server:
        # Over the whole loadgen run (warm-up included): 1.0 means the server core was saturated.
        wall = time.monotonic() - t0
        server_cpu = (server.cpu_seconds() - cpu0) / wall
        result["server_cpu"] = round(server_cpu, 3)
        # CPU used on the machine by anything but this server and this load generator (other tenants, kernel
        # workers), in cores: a noise indicator. Near 0 on a quiet machine; the two cores are 2.0 in all.
        other = (machine_busy_seconds() - busy0 - (children_cpu_seconds() - children0)) / wall - server_cpu
        result["other_cpu"] = round(max(other, 0.0), 3)
    return result


def cpu_of(result):
    return {key: result[key] for key in ("client_cpu", "server_cpu", "other_cpu")}


def machine_busy_seconds():
    """Non-idle CPU time of the whole machine, all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / CLK_TCK


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------------------------------------------------------
# Scenarios. Each yields records {"scenario", "config", "impl", "rep", "value", ...extra}.

def tcp_echo(cfg, rep, order, berth):
    configs = [(c, s) for s in (64, 16384) for c in (1, 100, 1000)]
    if not cfg.full:
        configs = [(1, 64), (100, 64), (1000, 64), (100, 16384)]
    for impl in order:
        server = Server(impl, "echo-tcp", berth)
        try:
            for conns, size in configs:
                r = loadgen("echo", server.port, server, conns=conns, size=size, duration=cfg.duration,
                            warmup=cfg.warmup)
                yield dict(scenario="tcp-echo", config=f"{conns} conns, {size} B", impl=impl, rep=rep,
                           value=r["per_second"], p50_us=r["p50_us"], p99_us=r["p99_us"], errors=r["errors"],
                           **cpu_of(r))
        finally:
            server.stop()


def churn(cfg, rep, order, berth):
    for impl in order:
        server = Server(impl, "echo-tcp", berth)
        try:
            r = loadgen("churn", server.port, server, conns=32, size=64, sources=64, duration=cfg.duration,
                        warmup=cfg.warmup)
            yield dict(scenario="churn", config="32 in flight, 64 B", impl=impl, rep=rep, value=r["per_second"],
                       p50_us=r["p50_us"], p99_us=r["p99_us"], errors=r["errors"], **cpu_of(r))
        finally:
            server.stop()


def udp_echo(cfg, rep, order, berth):
    for impl in order:
        server = Server(impl, "echo-udp", berth)
        try:
            r = loadgen("udp", server.port, server, conns=4, size=64, window=32, duration=cfg.duration,
                        warmup=cfg.warmup)
            yield dict(scenario="udp-echo", config="4 sockets x 32 in flight, 64 B", impl=impl, rep=rep,
                       value=r["per_second"], loss=r["loss"], **cpu_of(r))
        finally:
            server.stop()


def relay(cfg, rep, order, berth):
    for impl in [i for i in order if i != "c"]:
        server = Server(impl, "relay", berth)
        try:
            r = loadgen("relay", server.port, server, conns=100, size=64, window=16, duration=cfg.duration,
                        warmup=cfg.warmup)
            yield dict(scenario="relay", config="1 publisher, 100 subscribers, 64 B lines", impl=impl, rep=rep,
                       value=r["per_second"], **cpu_of(r))
        finally:
            server.stop()


def idle(cfg, rep, order, berth):
    n = 10_000
    for impl in order:
        server = Server(impl, "echo-tcp", berth)
        try:
            time.sleep(0.2)
            before = server.rss_kib()
            argv = ["taskset", "-c", CLIENT_CPU, os.path.join(BIN, "loadgen"), "idle", "--port", str(server.port),
                    "--conns", str(n), "--sources", "40", "--hold", "60"]
            gen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
            running.append(gen)
            try:
                line = gen.stdout.readline()  # bounded: loadgen gives up after its own deadline
                r = json.loads(line) if line.strip() else {"ready": 0, "errors": -1}
                time.sleep(0.5)  # let the server settle (Node allocates lazily)
                after = server.rss_kib()
            finally:
                gen.stdin.close()
                stop(gen)
            if r["ready"] != n:
                raise RuntimeError(f"idle: only {r['ready']}/{n} connections echoed on {impl}")
            yield dict(scenario="idle", config=f"{n} open connections", impl=impl, rep=rep,
                       value=round((after - before) / n, 2), rss_before_kib=before, rss_after_kib=after,
                       open_seconds=r["open_seconds"])
        finally:
            server.stop()


def store(cfg, rep, order, berth):
    n = 200_000 if cfg.full else 50_000
    for impl in [i for i in order if i != "c"]:
        server = Server(impl, "store", berth)
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=120) as s:
                reader = s.makefile("r")
                s.sendall(b"1000\n")  # warm-up (JIT in Node, allocator in both)
                reader.readline()
                cpu0 = server.cpu_seconds()
                s.sendall(f"{n}\n".encode())
                ms = float(reader.readline())
            yield dict(scenario="store", config=f"{n} awaited set+get pairs", impl=impl, rep=rep,
                       value=round(2 * n / (ms / 1000), 1), elapsed_ms=ms,
                       server_cpu=round((server.cpu_seconds() - cpu0) / (ms / 1000), 3))
        finally:
            server.stop()


def compile_(cfg, rep, order, berth):
    n = 10_000
    folder = os.path.join(log_dir, "compile")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        for i in range(n):
            with open(os.path.join(folder, f"h{i}.tcp.{10000 + i}.port.js"), "w") as f:
                f.write(f'// handler {i}\nexport function handle(conn, ctx) {{\n'
                        f'  conn.on("data", (chunk) => conn.write(chunk));\n}}\n')
        with open(os.path.join(folder, "manifest.json"), "w") as f:
            json.dump({"version": 1, "defaults": {"allow": ["127.0.0.0/8"]}}, f)
    t0 = time.monotonic()
    done = subprocess.run(["taskset", "-c", SERVER_CPU, berth, "validate", folder], capture_output=True, text=True,
                          timeout=600)
    seconds = time.monotonic() - t0
    if done.returncode != 0:
        raise RuntimeError(f"berth validate failed: {done.stdout[-500:]}{done.stderr[-500:]}")
    yield dict(scenario="compile", config=f"berth validate, {n} handlers", impl="berth", rep=rep,
               value=round(seconds, 3))


def startup(cfg, rep, order, berth):
    """`berth serve` of N one-line TCP handlers, from exec until every port listens: what a handler runtime costs to
    create (its globals included), in time and in resident memory."""
    n = 500 if cfg.full else 200
    folder = os.path.join(log_dir, f"startup-{n}")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        for i in range(n):
            with open(os.path.join(folder, f"h{i}.tcp.{20000 + i}.port.js"), "w") as f:
                f.write('export function handle(conn) { conn.on("data", (chunk) => conn.write(chunk)); }\n')
        with open(os.path.join(folder, "manifest.json"), "w") as f:
            json.dump({"version": 1, "defaults": {"allow": ["127.0.0.0/8"]}}, f)
    log = os.path.join(log_dir, f"startup-{time.monotonic_ns()}.log")
    argv = [berth, "serve", folder, "--bind", "127.0.0.1", "--log-format", "json", "--grace", "1s"]
    with open(log, "w") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    running.append(proc)
    try:
        deadline = t0 + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if open(log).read().count('"message":"listening') >= n:
                break
            time.sleep(0.005)
        seconds = time.monotonic() - t0
        text = open(log).read()
        if text.count('"message":"listening') < n:
            raise RuntimeError(f"berth serve of {n} handlers did not get ready:\n{text[-2000:]}")
        with open(f"/proc/{proc.pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    finally:
        stop(proc)
    yield dict(scenario="startup", config=f"berth serve, {n} handlers, until all listen", impl="berth", rep=rep,
               value=round(seconds * 1000 / n, 3), seconds=round(seconds, 3), rss_kib_per_handler=round(rss / n, 1))


def firewall(cfg, rep, order, berth):
    """berth apply / plan --detailed-exitcode inside a namespace this function creates and deletes."""
    endpoints, per_endpoint = 1000, 50  # 50,000 prefixes in all, distinct and non-adjacent so none merge
    folder = os.path.join(log_dir, "firewall")
    if not os.path.isdir(folder):
        os.makedirs(folder)
        handlers = {}
        for i in range(endpoints):
            name = f"fw{i}.tcp.{20000 + i}.port.js"
            with open(os.path.join(folder, name), "w") as f:
                f.write("export function handle(conn, ctx) { conn.end(); }\n")
            allow = []
            for j in range(per_endpoint):
                k = 2 * (i * per_endpoint + j)  # every other /32 of 10.0.0.0/8
                allow.append(f"10.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}/32")
            handlers[name] = {"allow": allow}
        with open(os.path.join(folder, "manifest.json"), "w") as f:
            json.dump({"version": 1, "handlers": handlers}, f)
    ns = f"berth-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
    try:
        def timed(*argv):
            t0 = time.monotonic()
            # berth's notes of verified state go to the bench's own folder, not the host's /run/berth.
            env = dict(os.environ, BERTH_STATE_DIR=os.path.join(log_dir, "state"))
            done = subprocess.run(["ip", "netns", "exec", ns, berth] + list(argv), capture_output=True, text=True,
                                  timeout=600, env=env)
            return time.monotonic() - t0, done

        apply_s, done = timed("apply", folder)
        if done.returncode != 0:
            raise RuntimeError(f"berth apply failed ({done.returncode}): {done.stderr[-800:]}")
        plan_s, done = timed("plan", folder, "--detailed-exitcode")
        plan_rc = done.returncode
        cold_s, done = timed("plan", folder, "--detailed-exitcode", "--no-cache")
        cold_rc = done.returncode
        timed("destroy")
    finally:
        subprocess.run(["ip", "netns", "delete", ns], timeout=30)
    config = f"{endpoints} endpoints, {endpoints * per_endpoint} prefixes"
    yield dict(scenario="firewall-apply", config=config, impl="berth", rep=rep, value=round(apply_s, 3))
    yield dict(scenario="firewall-plan", config=config + ", no change", impl="berth", rep=rep,
               value=round(plan_s, 3), exit=plan_rc)
    yield dict(scenario="firewall-plan-listed", config=config + ", no change, --no-cache", impl="berth", rep=rep,
               value=round(cold_s, 3), exit=cold_rc)


# ---------------------------------------------------------------------------------------------------------------------
# Live reload (issue #14). The folder is edited the way a sync tool edits it (a temporary dotfile, then a rename), in a
# copy under the bench's temporary directory, never in bench/handlers.

RELOAD_GOAL_MS = 1000  # a one-file edit in a 1,000-handler folder serves the new code within 1 s of the last write
ECHO_RELOAD_GOAL = 0.90  # the echo with a reload every second keeps at least 90 % of its rate without reloads
NEW_REPLY_TIMEOUT = 5.0  # per edit: 5× the goal; a berth that does not reload fails here instead of hanging the bench


def sync_write(path, text):
    """Replaces `path` the way Syncthing does: the new bytes go to a temporary dotfile (which the watcher ignores) in
    the same directory, then one rename. Returns the monotonic time right after the rename: the last write."""
    folder, name = os.path.split(path)
    temp = os.path.join(folder, f".syncthing.{name}.tmp")
    with open(temp, "w") as f:
        f.write(text)
    os.replace(temp, path)
    return time.monotonic()


class JsonLog:
    """Follows a `--log-format json` log file: every object written so far, read incrementally."""

    def __init__(self, path):
        self.path, self.offset, self.entries = path, 0, []

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                self.entries.append(entry)
        return self

    def count(self, prefix):
        return sum(1 for e in self.entries if str(e.get("message", "")).startswith(prefix))

    def reloads(self):
        """The broker's one line per reload: `reload N: ...`."""
        return [e for e in self.entries if re.match(r"reload \d+:", str(e.get("message", "")))]


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)


def free_port_block(n):
    """The first block of n consecutive loopback TCP ports from 21000 up, below the ephemeral range (so no client
    socket can take one meanwhile), that nothing holds now; other bench scenarios stay below 21000."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    for base in range(21000, ephemeral_low - n + 1, 1000):
        if all(tcp_port_free(port) for port in range(base, base + n)):
            return base
    raise RuntimeError(f"no block of {n} free TCP ports between 21000 and {ephemeral_low}")


def tcp_port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a TIME_WAIT left by a past run does not count
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def connect_outcome(error):
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (ConnectionResetError, BrokenPipeError)):
        return "reset"
    return "failed"  # a timeout or anything else


def reply_of(port, timeout=1.0):
    """Opens a connection, returns (what the handler wrote before it closed, None) or (None, refused|reset|failed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            data = b""
            while len(data) < 256:
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace"), None
    except OSError as error:
        return None, connect_outcome(error)


def reload_latency(cfg, rep, order, berth):
    """`berth serve` of 1,000 TCP handlers, each replying with its version; one file at a time rewritten (temporary
    name + rename) and a new connection opened every few ms until it gets the new version's reply."""
    n, edits = 1000, 5
    base = free_port_block(n)
    folder = tempfile.mkdtemp(prefix="reload-latency-", dir=log_dir)

    def entry(i):
        return os.path.join(folder, f"h{i}.tcp.{base + i}.port.js")

    def source(i, version):
        return (f"// handler {i}, version {version}\n"
                f'export function handle(conn) {{ conn.end("h{i} v{version}\\n"); }}\n')

    for i in range(n):
        with open(entry(i), "w") as f:
            f.write(source(i, 0))
    # The bench's manifest (loopback allowed, limits that never refuse): the default per-source connection rate
    # would refuse the polling connections.
    shutil.copy(os.path.join(BENCH, "handlers", "echo-tcp", "manifest.json"), folder)
    log = os.path.join(log_dir, f"reload-latency-{time.monotonic_ns()}.log")
    argv = [berth, "serve", folder, "--bind", "127.0.0.1", "--log-format", "json", "--grace", "1s"]
    with open(log, "w") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    running.append(proc)
    follow = JsonLog(log)
    samples, failure, probes = [], None, {"refused": 0, "reset": 0, "failed": 0, "unexpected": 0}
    try:
        deadline = t0 + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if follow.poll().count("listening") >= n:
                break
            time.sleep(0.01)
        listen_seconds = time.monotonic() - t0
        if follow.poll().count("listening") < n:
            raise RuntimeError(f"berth serve of {n} handlers did not get ready:\n{open(log).read()[-2000:]}")
        rss_ready = rss_kib(proc.pid)
        time.sleep(1.0)  # ready means every port listens; give the watcher, set up around then, a moment
        for k in range(edits):
            i = (rep * edits + k) * 211 % n  # a different handler each time, spread over the folder
            port, old, new = base + i, f"h{i} v0\n", f"h{i} v1\n"
            reply, error = reply_of(port)
            if reply != old:
                raise RuntimeError(f"reload-latency: h{i} on port {port} replied {reply!r} ({error}) before its edit")
            reloads_before = len(follow.poll().reloads())
            t_write = sync_write(entry(i), source(i, 1))
            until = t_write + NEW_REPLY_TIMEOUT
            served = None
            while time.monotonic() < until:
                reply, error = reply_of(port, timeout=max(0.05, min(1.0, until - time.monotonic())))
                if reply == new:
                    served = time.monotonic()
                    break
                if error:
                    probes[error] += 1
                elif reply != old:
                    probes["unexpected"] += 1
                time.sleep(0.005)
            if served is None:
                seen = len(follow.poll().reloads()) - reloads_before
                failure = (f"edit {k + 1} (h{i}): no new reply within {NEW_REPLY_TIMEOUT:g} s of the write, "
                           f"{seen} reload log lines since the write"
                           + (" (this berth does not reload its folder)" if seen == 0 else ""))
                break
            samples.append(round((served - t_write) * 1000, 1))
            time.sleep(0.2)
        reloads = follow.poll().reloads()
        rss_end = rss_kib(proc.pid)
    finally:
        stop(proc)
        shutil.rmtree(folder, ignore_errors=True)
    reload_ms = [ms for ms in (number(e.get("milliseconds")) for e in reloads) if ms is not None]
    note = (f"max {max(samples):.0f} ms" if samples else "no edit served") + \
           f", {len(samples)}/{edits} edits served, all {n} listening in {listen_seconds:.2f} s, " \
           f"RSS {rss_ready / 1024:.0f} MiB" + (f"; FAILED: {failure}" if failure else "")
    yield dict(scenario="reload-latency", config=f"1 of {n} handlers edited, {edits} edits", impl="berth", rep=rep,
               value=statistics.median(samples) if samples else None, max_ms=max(samples) if samples else None,
               samples_ms=samples, edits=edits, failure=failure, probes=probes, reloads=len(reloads),
               reload_ms=reload_ms, listen_seconds=round(listen_seconds, 3), rss_ready_kib=rss_ready,
               rss_end_kib=rss_end, note=note)


def echo_once(port, size=64):
    """One fresh connection: connect, send `size` bytes, read them back, close. Returns ok|refused|reset|failed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"n" * size)
            got = 0
            while got < size:
                chunk = s.recv(size - got)
                if not chunk:
                    return "reset"  # closed by the server with the reply due
                got += len(chunk)
            return "ok"
    except OSError as error:
        return connect_outcome(error)


class NewConnections(threading.Thread):
    """Beside the load (whose connections stay open, on the generation they started on), one fresh connection every
    `period` s, pinned to the client core: new connections are what a reload routes to a new generation."""

    def __init__(self, port, done, period=0.02):
        super().__init__(daemon=True)
        self.port, self.done, self.period = port, done, period
        self.counts = {"ok": 0, "refused": 0, "reset": 0, "failed": 0}

    def run(self):
        try:
            os.sched_setaffinity(0, {int(CLIENT_CPU)})  # this thread only
        except OSError:
            pass
        while not self.done.wait(self.period):
            self.counts[echo_once(self.port)] += 1


class FolderEditor(threading.Thread):
    """Rewrites one handler file every `period` s (a new version comment, so new code), the way a sync tool does."""

    def __init__(self, path, done, period=1.0, limit=1000):
        super().__init__(daemon=True)
        self.path, self.done, self.period, self.limit = path, done, period, limit
        self.source = open(path).read()
        self.edits = 0

    def run(self):
        while self.edits < self.limit and not self.done.wait(self.period):
            self.edits += 1
            sync_write(self.path, self.source + f"// version {self.edits}\n")


def echo_reload(cfg, rep, order, berth):
    """The 100-connection 64 B TCP echo run twice on copies of bench/handlers/echo-tcp, back to back for the same
    duration: without reloads, and with the handler file edited every second (the order alternates per repetition).
    `--grace` is longer than the run, so the load's connections may stay on their first generation throughout."""
    duration = 10.0 if cfg.full else 5.0
    variants = ["no reload", "edit every 1 s"]
    if rep % 2:
        variants.reverse()
    port = PORTS["echo-tcp"]["berth"]
    for variant in variants:
        folder = tempfile.mkdtemp(prefix="echo-reload-", dir=log_dir)
        shutil.copytree(os.path.join(BENCH, "handlers", "echo-tcp"), folder, dirs_exist_ok=True)
        server = Server("berth", "echo-tcp", berth, folder=folder, grace="60s")
        follow = JsonLog(server.log)
        done = threading.Event()
        fresh = NewConnections(port, done)
        entry = os.path.join(folder, f"echo.tcp.{port}.port.js")
        editor = FolderEditor(entry, done) if variant != "no reload" else None
        try:
            reloads_before = len(follow.poll().reloads())
            fresh.start()
            if editor:
                editor.start()
            r = loadgen("echo", port, server, conns=100, size=64, duration=duration, warmup=cfg.warmup,
                        timeout=duration + 60)
        finally:
            done.set()
            for thread in (fresh, editor):
                if thread and thread.is_alive():
                    thread.join(5)
            reloads = follow.poll().reloads()[reloads_before:]
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
        new_failed = sum(v for k, v in fresh.counts.items() if k != "ok")
        runtimes = reloads[-1].get("runtimes") if reloads else None
        note = (f"{len(reloads)} reloads ({editor.edits} edits), " if editor else "") + \
            f"load lost {r['errors']} (refused {r.get('refused', 0)}, reset {r.get('reset', 0)}, " \
            f"closed {r.get('closed', 0)}), new connections failed {new_failed}/{sum(fresh.counts.values())}"
        yield dict(scenario="echo-reload", config=f"100 conns, 64 B, {variant}", variant=variant, impl="berth",
                   rep=rep, value=r["per_second"], p50_us=r["p50_us"], p99_us=r["p99_us"], errors=r["errors"],
                   refused=r.get("refused", 0), reset=r.get("reset", 0), closed=r.get("closed", 0),
                   new_connections=fresh.counts, edits=editor.edits if editor else 0, reloads=len(reloads),
                   reloads_kept=sum(1 for e in reloads if e.get("level") != "info"), runtimes_after=runtimes,
                   seconds=duration, note=note, **cpu_of(r))


# ---------------------------------------------------------------------------------------------------------------------
# TLS termination (issue #15). Three servers, each on the server core, with the same self-signed certificate: berth
# serving the plain echo handler with a manifest `tls` pair; Node's tls.createServer echo; HAProxy (one thread, `mode
# tcp`) terminating TLS in front of the C echo, both processes pinned to the server core (its figures count both). The
# load generator speaks TLS 1.3 through OpenSSL (loadgen --tls 1) and never resumes a session.

TLS_ECHO_GOAL = 1.2  # berth's round trips/s over TLS at least 1.2x Node's
TLS_KEYS = {"ecdsa": "ECDSA P-256", "rsa": "RSA 2048"}
TLS_IDLE_CONNECTIONS = 2000


def tls_order(order):
    """The rotation main() gives, with HAProxy in the C reference's place (the C echo is its backend)."""
    impls = [{"c": "haproxy"}.get(i, i) for i in order]
    return [i for i in impls if i != "haproxy" or shutil.which("haproxy")]


def tls_credentials(kind):
    """A self-signed certificate for localhost with a `kind` key, made once per bench run under the bench's temporary
    directory: {"cert", "key", "pem" (certificate then key, for HAProxy)}."""
    folder = os.path.join(log_dir, f"tls-{kind}")
    paths = {"cert": os.path.join(folder, "server.pem"), "key": os.path.join(folder, "server.key"),
             "pem": os.path.join(folder, "haproxy.pem")}
    if os.path.isfile(paths["pem"]):
        return paths
    os.makedirs(folder, exist_ok=True)
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if kind == "ecdsa" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", paths["key"], "-out", paths["cert"],
                    "-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    with open(paths["pem"], "w") as out:
        out.write(open(paths["cert"]).read() + open(paths["key"]).read())
    # The certificate is valid from the second it was made; berth checks validity when it compiles the folder, which
    # must not happen within that same second on a clock that rounds the other way.
    time.sleep(1.1)
    return paths


class HAProxy:
    """HAProxy terminating TLS (`mode tcp`, `nbthread 1`) in front of the C echo, both on the server core; the
    driver's CPU and memory figures are the two processes' sum."""

    def __init__(self, credentials, berth):
        self.impl, self.port = "haproxy", PORTS["tls-echo"]["haproxy"]
        self.backend = Server("c", "echo-tcp", berth)
        config = os.path.join(log_dir, f"haproxy-{time.monotonic_ns()}.cfg")
        with open(config, "w") as f:
            f.write(f"""global
    nbthread 1
    maxconn 5000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
frontend tls
    bind 127.0.0.1:{self.port} ssl crt {credentials["pem"]}
    default_backend echo
backend echo
    server c 127.0.0.1:{self.backend.port}
""")
        self.log = config[:-4] + ".log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, "haproxy", "-db", "-f", config], stdout=out,
                                         stderr=out, stdin=subprocess.DEVNULL, cwd=ROOT)
        running.append(self.proc)
        self.pids = [self.proc.pid, self.backend.proc.pid]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"haproxy did not listen on {self.port}:\n{open(self.log).read()[-2000:]}")

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK + self.backend.cpu_seconds()

    def rss_kib(self):
        return rss_kib(self.proc.pid) + self.backend.rss_kib()

    def stop(self):
        stop(self.proc)
        self.backend.stop()


def tls_server(impl, credentials, berth):
    """One TLS echo server with this certificate: berth on a copy of handlers/tls-echo with the pair in certs/."""
    if impl == "haproxy":
        return HAProxy(credentials, berth)
    if impl == "node":
        return Server("node", "tls-echo", berth, args=(credentials["cert"], credentials["key"]))
    folder = tempfile.mkdtemp(prefix="tls-echo-", dir=log_dir)
    shutil.copytree(os.path.join(BENCH, "handlers", "tls-echo"), folder, dirs_exist_ok=True)
    os.makedirs(os.path.join(folder, "certs"))
    shutil.copy(credentials["cert"], os.path.join(folder, "certs", "server.pem"))
    shutil.copy(credentials["key"], os.path.join(folder, "certs", "server.key"))
    return Server("berth", "tls-echo", berth, folder=folder)


def tls_echo(cfg, rep, order, berth):
    """TLS echo ping-pong over 100 connections (handshakes done before the measured window)."""
    configs = [(100, 64), (100, 16384)]
    credentials = tls_credentials("ecdsa")
    for impl in tls_order(order):
        server = tls_server(impl, credentials, berth)
        try:
            for conns, size in configs:
                r = loadgen("echo", server.port, server, conns=conns, size=size, duration=cfg.duration,
                            warmup=cfg.warmup, tls=1)
                yield dict(scenario="tls-echo", config=f"{conns} conns, {size} B", impl=impl, rep=rep,
                           value=r["per_second"], p50_us=r["p50_us"], p99_us=r["p99_us"], errors=r["errors"],
                           handshake_failed=r["handshake_failed"], negotiated=r["negotiated"], **cpu_of(r))
        finally:
            server.stop()


def tls_handshake(cfg, rep, order, berth):
    """Full TLS 1.3 handshakes, 16 in flight: connect, handshake, 64 B echoed, close_notify, close. The server's CPU
    (utime + stime of its processes, read by the load generator at the start and the end of the measured window, the
    connections in flight at the end finished) divided by the handshakes completed in that window."""
    for kind in TLS_KEYS:
        credentials = tls_credentials(kind)
        for impl in tls_order(order):
            server = tls_server(impl, credentials, berth)
            try:
                r = loadgen("churn", server.port, server, conns=16, size=64, sources=64, duration=cfg.duration,
                            warmup=cfg.warmup, tls=1, drain=1, pids=",".join(map(str, server.pids)))
                if not r["handshakes"]:
                    raise RuntimeError(f"tls-handshake: no handshake completed on {impl} ({r})")
                yield dict(scenario="tls-handshake", config=f"{TLS_KEYS[kind]}, 16 in flight", impl=impl, rep=rep,
                           value=round(r["server_cpu_seconds"] * 1e6 / r["handshakes"], 1),
                           handshakes_per_second=r["per_second"], handshakes=r["handshakes"],
                           server_cpu_seconds=r["server_cpu_seconds"], p50_us=r["p50_us"], p99_us=r["p99_us"],
                           errors=r["errors"], handshake_failed=r["handshake_failed"], negotiated=r["negotiated"],
                           **cpu_of(r))
            finally:
                server.stop()


def tls_idle_memory(cfg, rep, order, berth):
    """TLS_IDLE_CONNECTIONS connections, each after its handshake and one byte echoed, held open: the server's RSS
    growth per connection."""
    n = TLS_IDLE_CONNECTIONS
    credentials = tls_credentials("ecdsa")
    for impl in tls_order(order):
        server = tls_server(impl, credentials, berth)
        try:
            time.sleep(0.2)
            before = server.rss_kib()
            # --duration only widens the generator's own deadline (warm-up + duration + 30 s) for the handshakes.
            argv = ["taskset", "-c", CLIENT_CPU, os.path.join(BIN, "loadgen"), "idle", "--port", str(server.port),
                    "--conns", str(n), "--sources", "8", "--hold", "60", "--duration", "60", "--tls", "1"]
            gen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
            running.append(gen)
            try:
                line = gen.stdout.readline()  # bounded: loadgen gives up after its own deadline
                r = json.loads(line) if line.strip() else {"ready": 0, "errors": -1}
                time.sleep(0.5)  # let the server settle (Node allocates lazily)
                after = server.rss_kib()
            finally:
                gen.stdin.close()
                stop(gen)
            if r["ready"] != n:
                raise RuntimeError(f"tls-idle-memory: only {r['ready']}/{n} connections echoed on {impl} ({r})")
            yield dict(scenario="tls-idle-memory", config=f"{n} open TLS connections", impl=impl, rep=rep,
                       value=round((after - before) / n, 2), rss_before_kib=before, rss_after_kib=after,
                       open_seconds=r["open_seconds"], negotiated=r["negotiated"])
        finally:
            server.stop()


SCENARIOS = {
    "tcp-echo": tcp_echo, "churn": churn, "udp-echo": udp_echo, "relay": relay, "idle": idle, "store": store,
    "compile": compile_, "startup": startup, "reload-latency": reload_latency, "echo-reload": echo_reload,
    "firewall": firewall, "tls-echo": tls_echo, "tls-handshake": tls_handshake, "tls-idle-memory": tls_idle_memory,
}

# name: (title, unit, higher is better, what the ratio columns mean)
TITLES = {
    "tcp-echo": ("TCP echo ping-pong", "round trips/s", True),
    "churn": ("Connection churn (connect, send, read reply, close)", "connections/s", True),
    "udp-echo": ("UDP echo", "datagrams/s", True),
    "relay": ("Relay fan-out", "delivered lines/s", True),
    "idle": ("Idle memory", "server RSS KiB per connection", False),
    "store": ("Store: get/set of a small object from a handler", "operations/s (set or get)", True),
    "compile": ("Compile", "seconds", False),
    "startup": ("Handler start: berth serve until every port listens", "ms per handler", False),
    "reload-latency": ("Live reload: one file edited in a folder of 1,000 handlers, until a new connection gets "
                       "the new code", "ms from the last write (a rename) to the new reply", False),
    "echo-reload": ("TCP echo while its handler is edited every second (live reload)", "round trips/s", True),
    "firewall-apply": ("Firewall: berth apply", "seconds", False),
    "firewall-plan": ("Firewall: no-change berth plan --detailed-exitcode", "seconds", False),
    "firewall-plan-listed": ("Firewall: no-change berth plan --detailed-exitcode --no-cache (table listed)", "seconds", False),
    "tls-echo": ("TLS echo ping-pong (TLS 1.3, ECDSA P-256)", "round trips/s", True),
    "tls-handshake": ("Full TLS 1.3 handshakes: server CPU per handshake", "server CPU µs per handshake", False),
    "tls-idle-memory": ("Idle TLS connections", "server RSS KiB per connection", False),
}


def firewall_skip_reason(berth):
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) missing"
    help_text = subprocess.run([berth, "help"], capture_output=True, text=True, timeout=30).stdout
    if " apply" not in help_text:
        return "this berth has no `apply` command yet"
    return None


# ---------------------------------------------------------------------------------------------------------------------
# Report

def sh(*argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine(berth):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    commit = sh("git", "rev-parse", "--short", "HEAD")
    if sh("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "kernel": platform.release(),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "swift": sh("swift", "--version").splitlines()[0] if sh("swift", "--version") else "unknown",
        "node": sh("node", "--version"),
        "gcc": sh("gcc", "--version").splitlines()[0],
        "openssl": sh("openssl", "version"),
        "haproxy": (sh("haproxy", "-v").splitlines() or ["not installed"])[0] if shutil.which("haproxy")
        else "not installed",
        "berth": f"{sh(berth, '--version')} ({os.path.relpath(berth, ROOT)})",
        "commit": commit,
    }


def fmt(value):
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def ratio(berth, other):
    """berth/other of the medians: above 1× is better for throughput, below 1× is better for costs."""
    if berth is None or other is None or other == 0:
        return "–"
    return f"{berth / other:.2f}×"


def median_of(records, key):
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def render_reload_latency(rows, cfg):
    """Median and max over every edit of every repetition, beside the goal (no peer to divide by)."""
    samples = [ms for r in rows for ms in r["samples_ms"]]
    failures = [f"repetition {r['rep'] + 1}: {r['failure']}" for r in rows if r.get("failure")]
    made = sum(len(r["samples_ms"]) + (1 if r.get("failure") else 0) for r in rows)
    worst = max(samples) if samples else None
    met = "met" if samples and not failures and worst <= RELOAD_GOAL_MS else "**not met**"
    reload_ms = [ms for r in rows for ms in r.get("reload_ms", [])]
    probes = {k: sum(r["probes"][k] for r in rows) for k in rows[0]["probes"]}
    head = ["config", "berth median ms", "max ms", "goal", "edits served / made", "all listening, s",
            "RSS MiB (after start → after the edits)", "reload ms (berth's log, median)"]
    cells = [rows[0]["config"], fmt(statistics.median(samples) if samples else None), fmt(worst),
             f"≤ {RELOAD_GOAL_MS:,} ms: {met}", f"{len(samples)} / {made}", fmt(median_of(rows, "listen_seconds")),
             f"{median_of(rows, 'rss_ready_kib') / 1024:.0f} → {median_of(rows, 'rss_end_kib') / 1024:.0f}",
             fmt(statistics.median(reload_ms) if reload_ms else None)]
    out = ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(cells) + " |", "",
           "Default debounce (300 ms), so at least 300 ms of each number is the quiet time the broker waits for. "
           "A new connection every 5 ms polls for the new reply; the handlers are one line each, on ports the "
           f"bench found free ({rows[0]['config']}; each edit replaces a different file, temporary name + rename)."]
    if any(probes.values()):
        out += ["", "Polling connections that did not get a reply (old or new) while the edit was being served: "
                    + ", ".join(f"{k} {v}" for k, v in probes.items() if v) + " (0 expected)."]
    if failures:
        out += ["", f"Failed (bounded at {NEW_REPLY_TIMEOUT:g} s per edit; the rest of that repetition skipped): "
                    + "; ".join(failures) + "."]
    return out


def render_echo_reload(rows, cfg):
    """One row: the rate without and with reloads, their ratio beside the goal, and every connection lost."""
    plain = [r for r in rows if r["variant"] == "no reload"]
    edited = [r for r in rows if r["variant"] != "no reload"]
    a, b = median_of(plain, "value"), median_of(edited, "value")
    lost = {k: sum(r[k] for r in edited) for k in ("refused", "reset", "closed")}
    fresh = {k: sum(r["new_connections"][k] for r in edited) for k in edited[0]["new_connections"]} if edited else {}
    new_failed = sum(v for k, v in fresh.items() if k != "ok")
    reloads = sum(r["reloads"] for r in edited)
    met = ("met" if a and b and b / a >= ECHO_RELOAD_GOAL and not sum(lost.values()) and not new_failed and reloads
           else "**not met**")
    head = ["config", "berth, no reload", "berth, edit every 1 s", "reload / no reload", "goal",
            "load connections lost (refused / reset / closed)", "new connections failed / opened",
            "reloads logged during the load (edits)",
            "p50/p99 µs (no reload; reload)", "client cpu (n/r)", "server cpu (n/r)", "other cpu (n/r)"]
    cells = ["100 conns, 64 B", fmt(a), fmt(b), ratio(b, a), f"≥ {ECHO_RELOAD_GOAL:.2f}×, 0 lost: {met}",
             f"{sum(lost.values())} ({lost['refused']} / {lost['reset']} / {lost['closed']})",
             f"{new_failed} / {sum(fresh.values())}", f"{reloads} ({sum(r['edits'] for r in edited)} edits)",
             f"{fmt(median_of(plain, 'p50_us'))} / {fmt(median_of(plain, 'p99_us'))}; "
             f"{fmt(median_of(edited, 'p50_us'))} / {fmt(median_of(edited, 'p99_us'))}"]
    for key in ("client_cpu", "server_cpu", "other_cpu"):
        cells.append(f"{fmt(median_of(plain, key))} / {fmt(median_of(edited, key))}")
    out = ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head), "| " + " | ".join(cells) + " |", "",
           f"Both runs: {rows[0]['seconds']:g} s measured after {cfg.warmup} s warm-up, the "
           "load generator's 100 connections open throughout (`--grace 60s`, so they may stay on the generation they "
           "started on) and one fresh connection every 20 ms beside them (connect, 64 B, echo, close): new "
           "connections are the ones a reload routes to the new generation. The reload run rewrites the handler "
           "file (temporary name + rename, a new version comment) every second; default debounce (300 ms)."]
    plain_lost = sum(r["errors"] for r in plain)
    plain_new = sum(v for r in plain for k, v in r["new_connections"].items() if k != "ok")
    if plain_lost or plain_new:
        out += ["", f"Without reloads: {plain_lost} load connections lost, {plain_new} new connections failed."]
    if edited and not reloads:
        out += ["", "**No reload happened** in the reload runs (no `reload N:` line in berth's log): this berth does "
                    "not follow its folder, so both runs served the same code and the ratio says nothing about "
                    "reloads."]
    runtimes = [r["runtimes_after"] for r in edited if r.get("runtimes_after") is not None]
    if runtimes:
        out += ["", f"Handler runtimes alive after the last reload of each run: {', '.join(map(str, runtimes))}."]
    return out


CUSTOM_TABLES = {"reload-latency": render_reload_latency, "echo-reload": render_echo_reload}


REPORT_IMPLS = IMPLS + ["haproxy"]
IMPL_NAMES = {"berth": "berth", "node": "Node", "c": "C", "haproxy": "HAProxy"}

# scenario: (what berth must do against Node, True when berth's median must be at least `factor` × Node's)
TLS_GOALS = {
    "tls-echo": (TLS_ECHO_GOAL, True),
    "tls-handshake": (1.0, False),
    "tls-idle-memory": (1.0, False),
}
TLS_NOTES = {
    "tls-echo": "Every connection's TLS 1.3 handshake is done before the measured window. HAProxy terminates TLS on one thread and "
                "forwards each connection to the C echo, both on the server core: its server cpu is the two "
                "processes' sum.",
    "tls-handshake": "Each connection: TCP connect, a full TLS 1.3 handshake (the load generator never offers a "
                     "session to resume), 64 B echoed, close_notify, close; 16 in flight. The value is the server's "
                     "CPU time (utime + stime of its processes, HAProxy's and its C echo's together) over the measured "
                     "window divided by the handshakes completed in it: on two cores the OpenSSL client, which "
                     "verifies a signature per handshake, saturates its core before an ECDSA server does, so the "
                     "rate alone cannot rank the servers.",
    "tls-idle-memory": "Each connection made its handshake and echoed one byte, then stays open; RSS excludes kernel "
                       "socket buffers. HAProxy's figure adds its C echo backend's (one more socket per connection).",
}


def tls_goal_line(scenario, rows):
    """Whether berth's median meets the issue's goal against Node's, config by config."""
    factor, at_least = TLS_GOALS[scenario]
    verdicts = []
    for config in dict.fromkeys(r["config"] for r in rows):
        b = median_of([r for r in rows if r["config"] == config and r["impl"] == "berth"], "value")
        n = median_of([r for r in rows if r["config"] == config and r["impl"] == "node"], "value")
        if b is None or n is None or n == 0:
            verdicts.append(f"{config}: –")
            continue
        met = b / n >= factor if at_least else b / n <= factor
        verdicts.append(f"{config}: {b / n:.2f}× {'met' if met else '**not met**'}")
    goal = f"berth ≥ {factor:g}× Node" if at_least else "berth ≤ Node"
    return f"Goal ({goal}): " + "; ".join(verdicts) + "."


def render(records, info, cfg, skipped):
    out = ["# berth benchmarks", ""]
    out.append(f"Mode: **{'full' if cfg.full else 'quick'}** (`make bench{' FULL=1' if cfg.full else ''}`), "
               f"{cfg.reps} repetitions per measurement, implementations interleaved, medians shown. "
               f"Server pinned to core {SERVER_CPU}, load generator (bench/c/loadgen.c) pinned to core {CLIENT_CPU} "
               f"(`taskset`). Each TCP/UDP run: {cfg.warmup} s warm-up, then {cfg.duration} s measured.")
    out.append("")
    out.append("| machine | |")
    out.append("|---|---|")
    for key in ("date", "cpu", "kernel", "memory", "swift", "node", "gcc", "openssl", "haproxy", "berth", "commit"):
        out.append(f"| {key} | {info[key]} |")
    out.append("")
    out.append("Ratios are berth/Node, berth/C and berth/HAProxy of the medians: above 1× is better for throughput "
               "(per second), "
               "below 1× is better for costs (KiB per connection, seconds).")
    out.append("`client cpu` is the load generator's CPU use and `server cpu` the server's, in cores (1.0 = the "
               "pinned core saturated); a client below 1.0 while the server is at 1.0 means the server is the limit. "
               "`other cpu` is what everything else on the machine used meanwhile (other tenants, kernel workers), "
               "in cores out of 2: when it is well above 0, that run was disturbed and its numbers are low.")
    out.append("")
    for scenario, (title, unit, higher) in TITLES.items():
        rows = [r for r in records if r["scenario"] == scenario]
        if not rows:
            if scenario in skipped:
                out += [f"## {title}", "", f"Skipped: {skipped[scenario]}.", ""]
            continue
        better = "higher" if higher else "lower"
        if scenario in CUSTOM_TABLES:
            out += [f"## {title}", "", f"Unit: {unit}; {better} is better; {cfg.reps} repetitions."]
            out += CUSTOM_TABLES[scenario](rows, cfg) + [""]
            continue
        out += [f"## {title}", "", f"Unit: {unit}, median of {cfg.reps}; {better} is better."]
        configs = list(dict.fromkeys(r["config"] for r in rows))
        impls = [i for i in REPORT_IMPLS if any(r["impl"] == i for r in rows)]
        has_lat = any("p50_us" in r for r in rows)
        has_cpu = any("client_cpu" in r for r in rows)
        initials = "/".join(i[0] for i in impls)
        head = ["config"] + [IMPL_NAMES[i] for i in impls]
        for peer in ("node", "c", "haproxy"):
            if peer in impls:
                head.append(f"berth/{IMPL_NAMES[peer]}")
        if scenario == "tls-handshake":
            head += [f"handshakes/s ({initials})"]
        if has_lat:
            head += [f"p50/p99 µs {i}" for i in impls]
        if scenario == "udp-echo":
            head += [f"loss {i}" for i in impls]
        if scenario in ("idle", "tls-idle-memory"):
            head += [f"RSS MiB {i} (before → after)" for i in impls]
        if scenario == "startup":
            head += ["seconds in all", "RSS KiB per handler"]
        if has_cpu:
            head += [f"client cpu ({initials})", f"server cpu ({initials})", f"other cpu ({initials})"]
        out.append("")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for config in configs:
            by = {i: [r for r in rows if r["config"] == config and r["impl"] == i] for i in impls}
            med = {i: median_of(by[i], "value") for i in impls}
            cells = [config] + [fmt(med[i]) for i in impls]
            for peer in ("node", "c", "haproxy"):
                if peer in impls:
                    cells.append(ratio(med.get("berth"), med[peer]))
            if scenario == "tls-handshake":
                cells.append(" / ".join(fmt(median_of(by[i], "handshakes_per_second")) for i in impls))
            if has_lat:
                cells += [f"{fmt(median_of(by[i], 'p50_us'))} / {fmt(median_of(by[i], 'p99_us'))}" for i in impls]
            if scenario == "udp-echo":
                cells += [f"{100 * median_of(by[i], 'loss'):.2f} %" for i in impls]
            if scenario in ("idle", "tls-idle-memory"):
                cells += [f"{median_of(by[i], 'rss_before_kib') / 1024:.1f} → "
                          f"{median_of(by[i], 'rss_after_kib') / 1024:.1f}" for i in impls]
            if scenario == "startup":
                cells += [fmt(median_of(by["berth"], "seconds")), fmt(median_of(by["berth"], "rss_kib_per_handler"))]
            if has_cpu:
                cells.append(" / ".join(fmt(median_of(by[i], "client_cpu")) for i in impls))
                cells.append(" / ".join(fmt(median_of(by[i], "server_cpu")) for i in impls))
                cells.append(" / ".join(fmt(median_of(by[i], "other_cpu")) for i in impls))
            out.append("| " + " | ".join(cells) + " |")
        errors = sum(r.get("errors", 0) for r in rows)
        if errors:
            out.append("")
            out.append(f"Connection errors seen by the load generator across all runs: {errors}"
                       + (f" ({sum(r.get('handshake_failed', 0) for r in rows)} failed TLS handshakes)."
                          if scenario.startswith("tls-") else "."))
        if scenario in TLS_GOALS:
            out += ["", tls_goal_line(scenario, rows)]
        if scenario.startswith("tls-"):
            out += ["", TLS_NOTES[scenario]]
            agreed = {i: sorted({r.get("negotiated") or "?" for r in rows if r["impl"] == i}) for i in impls}
            out += ["", "Negotiated (first handshake of each run): "
                        + "; ".join(f"{IMPL_NAMES[i]} {', '.join(agreed[i])}" for i in impls) + "."]
            if not shutil.which("haproxy") and scenario != "tls-idle-memory":
                out += ["", "HAProxy is not installed here (`make deps` installs it), so it has no column."]
        if scenario == "relay":
            out += ["", "No C reference for the relay (omitted: the scenario compares berth's ctx.shared "
                        "publish/subscribe with Node's EventEmitter)."]
        if scenario == "store":
            out += ["", "Node peer: the same awaited loop over a Map, copying with structuredClone. "
                        "No C reference (the scenario measures the JavaScript store API)."]
        if scenario in ("firewall-plan", "firewall-plan-listed"):
            codes = sorted({r.get("exit") for r in rows})
            out += ["", f"Exit status of the no-change plan: {codes} (0 expected)."]
        if scenario == "firewall-plan":
            out += ["", "Right after `apply`, so berth's note of the ruleset generation lets it skip listing its table "
                        "(README, \"Reading only what may have changed\"); the next row lists it."]
        out.append("")
    out += ["## Before/after optimisations", "",
            "_Filled by the lead: each optimisation, the scenario it targets, and the before → after medians._", ""]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="every configuration, longer runs")
    parser.add_argument("--berth", default=os.path.join(ROOT, ".build", "release", "berth"))
    parser.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(BENCH, "results", "LATEST.md"))
    cfg = parser.parse_args()
    cfg.berth = os.path.abspath(cfg.berth)
    cfg.duration, cfg.warmup = (3.0, 0.5) if cfg.full else (1.0, 0.3)
    if cfg.reps < 1 or cfg.reps > 20:
        parser.error("--reps must be 1..20")
    if os.cpu_count() < 2:
        parser.error("needs two cores: server on core 0, load generator on core 1")
    for path in (cfg.berth, os.path.join(BIN, "loadgen")):
        if not os.access(path, os.X_OK):
            parser.error(f"{path} is missing: build it first (make bench does)")
    names = cfg.only.split(",") if cfg.only else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {unknown}; known: {', '.join(SCENARIOS)}")

    raise_nofile()
    skipped = {}
    if "firewall" in names:
        reason = firewall_skip_reason(cfg.berth)
        if reason:
            for scenario in ("firewall-apply", "firewall-plan", "firewall-plan-listed"):
                skipped[scenario] = reason
            names.remove("firewall")

    info = machine(cfg.berth)
    records = []
    jsonl = os.path.splitext(cfg.out)[0] + ".jsonl"
    os.makedirs(os.path.dirname(cfg.out), exist_ok=True)
    started = time.monotonic()
    print(f"bench: {'full' if cfg.full else 'quick'}, {cfg.reps} reps, server core {SERVER_CPU}, "
          f"client core {CLIENT_CPU}, berth {cfg.berth}", flush=True)
    with open(jsonl, "w") as raw:
        raw.write(json.dumps({"machine": info, "full": cfg.full, "reps": cfg.reps}) + "\n")
        for name in names:
            for rep in range(cfg.reps):
                order = IMPLS[rep % 3:] + IMPLS[:rep % 3]  # rotate who goes first
                for record in SCENARIOS[name](cfg, rep, order, cfg.berth):
                    records.append(record)
                    raw.write(json.dumps(record) + "\n")
                    raw.flush()
                    extra = f" p50/p99 {record['p50_us']:.0f}/{record['p99_us']:.0f} µs" if "p50_us" in record else ""
                    extra += f" ({record['note']})" if "note" in record else ""
                    print(f"  {record['scenario']:<15} rep {rep + 1} {record['impl']:<7} {record['config']:<40} "
                          f"{fmt(record['value'])}{extra}", flush=True)
    with open(cfg.out, "w") as f:
        f.write(render(records, info, cfg, skipped) + "\n")
    for scenario, reason in skipped.items():
        print(f"bench: skipped {scenario}: {reason}")
    print(f"bench: wrote {os.path.relpath(cfg.out, ROOT)} and {os.path.relpath(jsonl, ROOT)} "
          f"in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
