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
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
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

    def __init__(self, impl, scenario, berth):
        self.impl, self.scenario = impl, scenario
        self.port = PORTS[scenario][impl]
        self.log = os.path.join(log_dir, f"{impl}-{scenario}-{time.monotonic_ns()}.log")
        if impl == "berth":
            argv = [berth, "serve", os.path.join(BENCH, "handlers", scenario), "--bind", "127.0.0.1",
                    "--log-format", "json", "--grace", "1s", "--cpu-budget", "60s"]
            ready_text = '"message":"listening'
        elif impl == "node":
            argv = ["node", os.path.join(BENCH, "node", scenario.replace("-", "_") + ".js"), str(self.port)]
            ready_text = "ready"
        else:
            argv = [os.path.join(BIN, scenario.replace("-", "_")), str(self.port)]
            ready_text = "ready"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=out, stderr=out,
                                         stdin=subprocess.DEVNULL, cwd=ROOT)
        running.append(self.proc)
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


SCENARIOS = {
    "tcp-echo": tcp_echo, "churn": churn, "udp-echo": udp_echo, "relay": relay, "idle": idle, "store": store,
    "compile": compile_, "startup": startup, "firewall": firewall,
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
    "firewall-apply": ("Firewall: berth apply", "seconds", False),
    "firewall-plan": ("Firewall: no-change berth plan --detailed-exitcode", "seconds", False),
    "firewall-plan-listed": ("Firewall: no-change berth plan --detailed-exitcode --no-cache (table listed)", "seconds", False),
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


def render(records, info, cfg, skipped):
    out = ["# berth benchmarks", ""]
    out.append(f"Mode: **{'full' if cfg.full else 'quick'}** (`make bench{' FULL=1' if cfg.full else ''}`), "
               f"{cfg.reps} repetitions per measurement, implementations interleaved, medians shown. "
               f"Server pinned to core {SERVER_CPU}, load generator (bench/c/loadgen.c) pinned to core {CLIENT_CPU} "
               f"(`taskset`). Each TCP/UDP run: {cfg.warmup} s warm-up, then {cfg.duration} s measured.")
    out.append("")
    out.append("| machine | |")
    out.append("|---|---|")
    for key in ("date", "cpu", "kernel", "memory", "swift", "node", "gcc", "berth", "commit"):
        out.append(f"| {key} | {info[key]} |")
    out.append("")
    out.append("Ratios are berth/Node and berth/C of the medians: above 1× is better for throughput (per second), "
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
        out += [f"## {title}", "", f"Unit: {unit}, median of {cfg.reps}; {better} is better."]
        configs = list(dict.fromkeys(r["config"] for r in rows))
        impls = [i for i in IMPLS if any(r["impl"] == i for r in rows)]
        has_lat = any("p50_us" in r for r in rows)
        has_cpu = any("client_cpu" in r for r in rows)
        head = ["config"] + [{"berth": "berth", "node": "Node", "c": "C"}[i] for i in impls]
        if "node" in impls:
            head.append("berth/Node")
        if "c" in impls:
            head.append("berth/C")
        if has_lat:
            head += [f"p50/p99 µs {i}" for i in impls]
        if scenario == "udp-echo":
            head += [f"loss {i}" for i in impls]
        if scenario == "idle":
            head += [f"RSS MiB {i} (before → after)" for i in impls]
        if scenario == "startup":
            head += ["seconds in all", "RSS KiB per handler"]
        if has_cpu:
            head += ["client cpu (b/n/c)", "server cpu (b/n/c)", "other cpu (b/n/c)"]
        out.append("")
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for config in configs:
            by = {i: [r for r in rows if r["config"] == config and r["impl"] == i] for i in impls}
            med = {i: median_of(by[i], "value") for i in impls}
            cells = [config] + [fmt(med[i]) for i in impls]
            if "node" in impls:
                cells.append(ratio(med.get("berth"), med["node"]))
            if "c" in impls:
                cells.append(ratio(med.get("berth"), med["c"]))
            if has_lat:
                cells += [f"{fmt(median_of(by[i], 'p50_us'))} / {fmt(median_of(by[i], 'p99_us'))}" for i in impls]
            if scenario == "udp-echo":
                cells += [f"{100 * median_of(by[i], 'loss'):.2f} %" for i in impls]
            if scenario == "idle":
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
            out.append(f"Connection errors seen by the load generator across all runs: {errors}.")
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
                    print(f"  {record['scenario']:<15} rep {rep + 1} {record['impl']:<5} {record['config']:<40} "
                          f"{fmt(record['value'])}{extra}", flush=True)
    with open(cfg.out, "w") as f:
        f.write(render(records, info, cfg, skipped) + "\n")
    for scenario, reason in skipped.items():
        print(f"bench: skipped {scenario}: {reason}")
    print(f"bench: wrote {os.path.relpath(cfg.out, ROOT)} and {os.path.relpath(jsonl, ROOT)} "
          f"in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
