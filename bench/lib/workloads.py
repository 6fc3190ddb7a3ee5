"""The workloads. Each takes a running contender and returns a dict of raw numbers; a failure
raises WorkloadError, which is recorded for that cell and the bench goes on.

Every client is bounded in count and time: iperf3 and wrk by their duration (plus a hard
subprocess timeout), redis-benchmark by -n (and a timeout), the C++ tools by their own
--max-seconds/--timeout options (and a timeout)."""

import csv
import io
import json
import math
import os
import re
import select
import subprocess
import time

from procs import BenchError, Managed, objects_kib, run, system_used_kib


class WorkloadError(Exception):
    pass


def _run(argv, timeout):
    try:
        return run(argv, timeout)
    except BenchError as e:
        raise WorkloadError(str(e)) from e


def _cpu_delta(before, after):
    return None if before is None or after is None else round(after - before, 3)


# ---- 1 + 7: bulk throughput (and CPU per GiB) -------------------------------------------------

def throughput(streams):
    def measure(ctx, r):
        d = ctx.cfg.duration
        cpu0 = r.cpu()
        try:
            res = _run(["iperf3", "-c", "127.0.0.1", "-p", str(r.port), "-t", str(d),
                        "-P", str(streams), "-J"], timeout=d + 30)
            report = json.loads(res.stdout) if res.returncode == 0 else {
                "error": (res.stdout + res.stderr)[-300:] or f"exit status {res.returncode}"}
        except (WorkloadError, ValueError) as e:
            report = {"error": str(e)}
        if "error" in report:
            ctx.backends.restart("iperf")  # a broken test can leave iperf3 -s stuck
            raise WorkloadError(f"iperf3: {report['error']}")
        r.settle()
        cpu1 = r.cpu()
        received = report["end"]["sum_received"]
        return {"gbps": received["bits_per_second"] / 1e9, "bytes": received["bytes"],
                "seconds": received["seconds"], "cpu_s": _cpu_delta(cpu0, cpu1)}
    return measure


# ---- 2 + 7: new connections per second (and CPU per 1000 connections) ------------------------

def connrate(ctx, r):
    """wrk with "Connection: close": every request is a new connection through the proxy and a
    new one to the backend. 32 connections keep every contender busy; --timeout 2s bounds a
    connection stuck in a listen queue (counted as an error)."""
    d = ctx.cfg.duration
    cpu0 = r.cpu()
    res = _run(["wrk", f"-t{min(2, ctx.cfg.cores)}", "-c32", f"-d{d}s", "--timeout", "2s",
                "-H", "Connection: close", f"http://127.0.0.1:{r.port}/"], timeout=d + 30)
    r.settle()
    cpu1 = r.cpu()
    out = res.stdout
    m_total = re.search(r"(\d+) requests in", out)
    m_rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if res.returncode != 0 or not m_total or not m_rate:
        raise WorkloadError(f"wrk failed: {(out + res.stderr)[-300:]}")
    requests = int(m_total.group(1))
    errors = 0
    m_sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m_sock:
        errors += sum(int(x) for x in m_sock.groups())
    m_non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m_non2xx:
        errors += int(m_non2xx.group(1))
    cpu = _cpu_delta(cpu0, cpu1)
    return {"conn_s": float(m_rate.group(1)), "requests": requests, "errors": errors,
            "cpu_s": cpu,
            "cpu_per_1000": None if cpu is None or requests == 0 else cpu / (requests / 1000)}


# ---- 3: request/response latency on persistent connections ----------------------------------

def latency(ctx, r):
    """redis-benchmark SET over 50 persistent connections; --precision 3 so sub-millisecond
    percentiles are not rounded to whole milliseconds."""
    try:
        res = _run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(r.port), "-t", "set",
                    "-n", str(ctx.cfg.redis_requests), "-c", "50", "--csv", "--precision", "3"],
                   timeout=45)
    except WorkloadError as e:
        if r.forks:  # seen regularly: the run takes 8 s one time and two minutes the next
            raise WorkloadError(f"{e}: its 50 simultaneous connects overflow socat's listen "
                                "backlog of 5, and the dropped SYNs are retried after 1, 3, 7, "
                                "15, 31, 63 s") from e
        raise
    rows = [row for row in csv.DictReader(io.StringIO(res.stdout)) if row.get("test") == "SET"]
    if res.returncode != 0 or not rows:
        raise WorkloadError("redis-benchmark failed: " +
                            " ".join((res.stdout + res.stderr).split("\n")[-3:])[-300:])
    row = rows[0]
    return {"rps": float(row["rps"]), "avg_ms": float(row["avg_latency_ms"]),
            "p50_ms": float(row["p50_latency_ms"]), "p99_ms": float(row["p99_latency_ms"]),
            "max_ms": float(row["max_latency_ms"])}


# ---- 4: connect + first byte ----------------------------------------------------------------

def firstbyte(ctx, r):
    c = ctx.cfg
    res = _run([ctx.tools["connlat"], "seq", "--dst", f"127.0.0.1:{r.port}",
                "--count", str(c.firstbyte_count), "--max-seconds", str(c.firstbyte_seconds),
                "--timeout-ms", "5000"], timeout=c.firstbyte_seconds + 20)
    r.settle()
    out = _json_line(res)
    if out["ok"] == 0:
        raise WorkloadError(f"no exchange succeeded ({out['failed']} failed)")
    return out


# ---- 8: listen-backlog bursts ---------------------------------------------------------------

def burst(ctx, r):
    c = ctx.cfg
    res = _run([ctx.tools["connlat"], "burst", "--dst", f"127.0.0.1:{r.port}",
                "--conns", str(c.burst_conns), "--bursts", str(c.bursts), "--gap-ms", "500",
                "--timeout-ms", "5000"], timeout=c.bursts * 6 + 20)
    r.settle()
    return _json_line(res)


def _json_line(res):
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        raise WorkloadError(f"tool failed: {(res.stdout + res.stderr)[-300:]}") from e


# ---- 5: memory per idle connection ----------------------------------------------------------

def idle_count(ctx, key):
    """How many idle connections to open through this contender (0 = not measured). socat
    forks a process per connection, so it is measured at a smaller count; socat+DNS would need
    a DNS lookup per connection at ~20/s, so it is not measured."""
    if key == "socat-dns":
        return 0
    if key == "socat":
        return ctx.cfg.socat_idle_conns
    return ctx.idle_conns


def idle(ctx, r):
    n = idle_count(ctx, r.key)
    if n == 0:
        return {"skipped": True}
    # socat's listen backlog is 5: a few connects at a time, or it spends the run on SYN retries
    inflight = 4 if r.forks else 256
    # Let the system settle before the "before" reading; how much system memory moved during
    # that second (other activity on the machine) is kept as a noise estimate.
    sys_early = system_used_kib()
    time.sleep(1)
    pss0, sys0, obj0 = r.pss(), system_used_kib(), objects_kib()
    held = hold_connections(ctx, r.client_ports, n, ["127.0.0.1"], inflight, "idle")
    try:
        pss1, sys1, obj1 = r.pss(), system_used_kib(), objects_kib()
    finally:
        result = held.release()
    est = result["established"]
    if est == 0:
        raise WorkloadError(f"no idle connection established: {result}")
    result.update({
        "pss_kib_per_conn": None if pss0 is None else (pss1 - pss0) / est,
        "sys_kib_per_conn": (sys1 - sys0) / est,
        "obj_kib_per_conn": (obj1 - obj0) / est,
        "pss_before_kib": pss0, "pss_after_kib": pss1,
        "sys_before_kib": sys0, "sys_after_kib": sys1, "sys_drift_kib_per_s": sys0 - sys_early,
        "obj_before_kib": obj0, "obj_after_kib": obj1,
    })
    if est < n or result["still_open"] < est:
        result["warning"] = f"{est} of {n} established, {result['still_open']} still open at the end"
    return result


class HeldConnections:
    """idle_open clients (one or more processes) holding connections until release()."""

    def __init__(self, clients):
        self.clients = clients
        self.opened = [read_json_line(c, timeout=150) for c in clients]
        time.sleep(1.5)  # settle: let the kernel and the proxies finish allocating

    def release(self):
        closing = []
        for c in self.clients:
            try:
                c.proc.stdin.close()
            except OSError:
                pass
            closing.append(read_json_line(c, timeout=30, default={"still_open": 0, "dropped": -1}))
        for c in self.clients:
            c.stop()
        total = lambda rows, key: sum(row.get(key, 0) for row in rows)
        return {"requested": total(self.opened, "requested"),
                "established": total(self.opened, "established"),
                "failed": total(self.opened, "failed"),
                "timed_out": total(self.opened, "timed_out"),
                "open_seconds": max(row.get("seconds", 0) for row in self.opened),
                "still_open": total(closing, "still_open"),
                "dropped": total(closing, "dropped")}


def hold_connections(ctx, ports, n, sources, inflight, tag):
    """Opens n connections (split over processes so none needs more descriptors than the limit)
    and returns once all are established or failed; the caller must release()."""
    per_process = max(1, ctx.cfg.fd_limit - 100)
    processes = math.ceil(n / per_process)
    clients = []
    try:
        for i in range(processes):
            count = n // processes + (1 if i < n % processes else 0)
            argv = [ctx.tools["idle_open"],
                    "--dst", ",".join(f"127.0.0.1:{p}" for p in ports),
                    "--count", str(count), "--inflight", str(inflight),
                    "--timeout", "120", "--hold-max", "600"]
            if sources != ["127.0.0.1"]:
                argv += ["--src", ",".join(sources)]
            clients.append(Managed(f"idle client {i}", argv,
                                   os.path.join(ctx.tmp, f"{tag}-client-{i}.log"),
                                   stdout=subprocess.PIPE, stdin=subprocess.PIPE))
        return HeldConnections(clients)
    except BaseException:
        for c in clients:
            c.stop()
        raise


def read_json_line(m, timeout, default=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([m.proc.stdout], [], [], 0.2)
        if ready:
            line = m.proc.stdout.readline()
            if line:
                return json.loads(line)
            break  # EOF: the tool exited
        if not m.alive():
            break
    if default is not None:
        return default
    raise WorkloadError(f"{m.name} gave no result within {timeout} s:\n{m.log_tail()}")


# ---- 9: the scale curve: memory and connect latency as idle connections grow ------------------

def scale_levels(ctx, key):
    """The idle-connection counts of the scale curve for this contender ([] = not measured):
    socat would need a process per connection, socat+DNS a DNS lookup per connection."""
    return [] if key in ("socat", "socat-dns") else ctx.scale_levels


def _probe_firstbyte(ctx, r):
    """connect + first byte of new connections through the contender, one after another. The
    backend (idle_hold) greets every connection with one byte on accept, so the sample is: the
    client's connect, the proxy's accept and its connect to the backend, and the greeting on its
    way back: the moment a client of a greeting protocol (SSH, SMTP) sees the server."""
    c = ctx.cfg
    res = _run([ctx.tools["connlat"], "seq", "--dst", f"127.0.0.1:{r.port}",
                "--count", str(c.scale_probes), "--max-seconds", str(c.scale_probe_seconds),
                "--timeout-ms", "5000", "--reply-bytes", "1"],
               timeout=c.scale_probe_seconds + 20)
    out = _json_line(res)
    if out["ok"] == 0:
        raise WorkloadError(f"no connect + first byte exchange succeeded ({out['failed']} failed)")
    return out


def scale(ctx, r):
    """One contender, started once: hold the first level's idle connections, read the proxy's
    PSS and measure connect + first byte of new connections; open more up to the next level,
    read and measure again; and so on. Memory per connection at a level = (PSS now - PSS
    before the first idle connection) / connections held, so a flat curve means each
    connection costs the same however many there are. The latency run before any idle
    connection is kept as the baseline (and reads PSS only after it)."""
    levels = scale_levels(ctx, r.key)
    if not levels:
        return {"skipped": True}
    # One readiness probe went through, but through one worker only: edge-connector's other
    # workers may still await their first DNS answer (and close clients at once meanwhile).
    time.sleep(1)
    # The baseline latency run goes first: it also warms the proxy up (buffer pools, allocator
    # arenas), which would otherwise count against the first level's connections.
    baseline = _probe_firstbyte(ctx, r)
    time.sleep(1)  # settle, as the idle workload does
    pss0, obj0 = r.pss(), objects_kib()
    out = {"pss_before_kib": pss0, "obj_before_kib": obj0, "baseline": baseline, "levels": []}
    batches, held = [], 0
    try:
        for level in levels:
            batches.append(hold_connections(ctx, r.client_ports, level - held, ["127.0.0.1"],
                                            256, f"scale-{level}"))
            held = level
            est = sum(row.get("established", 0) for b in batches for row in b.opened)
            pss1, obj1 = r.pss(), objects_kib()
            lat = _probe_firstbyte(ctx, r)
            step = {"level": level, "established": est,
                    "pss_kib_per_conn": None if pss0 is None else (pss1 - pss0) / max(1, est),
                    "obj_kib_per_conn": (obj1 - obj0) / max(1, est), "pss_after_kib": pss1,
                    "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "max_ms": lat["max_ms"],
                    "probes_ok": lat["ok"], "probes_failed": lat["failed"]}
            out["levels"].append(step)
            if est < level or lat["failed"]:
                out.setdefault("warnings", []).append(
                    f"{level:,}: {est:,} established, {lat['failed']} probes failed")
    finally:
        closing = [b.release() for b in reversed(batches)]
    still_open = sum(c["still_open"] for c in closing)
    established = sum(c["established"] for c in closing)
    out["still_open"], out["established"] = still_open, established
    if still_open < established:
        out.setdefault("warnings", []).append(
            f"{established - still_open:,} of {established:,} idle connections closed early")
    if out.get("warnings"):
        out["warning"] = "; ".join(out["warnings"])
    return out


# ---- 6: 100,000 idle connections held by one edge-connector ----------------------------------

def hold_test(ctx, contender, svc, plan):
    """edge-connector alone: plan['conns'] connections from several source addresses to several
    backend ports, so no (source, destination) pair needs more than ~25k ephemeral ports."""
    r = contender.start(svc)
    try:
        time.sleep(1)
        pss0, sys0, obj0 = r.pss(), system_used_kib(), objects_kib()
        held = hold_connections(ctx, [r.port], plan["conns"], plan["sources"], 512, "hold")
        try:
            pss1, sys1, obj1 = r.pss(), system_used_kib(), objects_kib()
            alive = r.managed.alive()
        finally:
            result = held.release()
    finally:
        r.stop()
    est = max(1, result["established"])
    result.update({
        "pss_kib_per_conn": (pss1 - pss0) / est, "sys_kib_per_conn": (sys1 - sys0) / est,
        "obj_kib_per_conn": (obj1 - obj0) / est,
        "pss_after_kib": pss1, "proxy_alive": alive,
        "held": result["established"] == plan["conns"] and result["still_open"] == plan["conns"]
                and alive,
    })
    return result


# name -> (service, function)
WORKLOADS = {
    "throughput1": ("iperf", throughput(1)),
    "throughput4": ("iperf", throughput(4)),
    "connrate": ("http", connrate),
    "latency": ("redis", latency),
    "firstbyte": ("redis", firstbyte),
    "idle": ("idle", idle),
    "scale": ("idle", scale),
    "burst": ("redis", burst),
}
