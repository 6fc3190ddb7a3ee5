"""Bench configuration (flags and environment), the port plan, helper tools, the daemon binary,
kernel limits and the machine/version description printed with the results."""

import argparse
import datetime
import hashlib
import os
import platform
import re
import resource
import shutil
import subprocess
from dataclasses import dataclass, field

from procs import BenchError, run

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(BENCH_DIR)

# Run order inside a repetition. The idle-memory runs (idle, then the scale curve) go first and
# the connection-rate run right after them: wrk leaves ~100k sockets in TIME_WAIT, and their
# memory is given back over the next 60 s. Run before a memory measurement, that release would
# count against it.
WORKLOADS = ["idle", "scale", "connrate", "throughput1", "throughput4", "latency", "firstbyte", "burst",
             "hold100k"]
ALIASES = {"throughput": ["throughput1", "throughput4"], "memory": ["idle"],
           "all": WORKLOADS}
CONTENDERS = ["direct", "edge", "haproxy", "nginx", "socat", "socat-dns"]
# Opt-in, never in a default run: edge-pp2 is edge-connector with --send-proxy v2, in front of
# copies of the backends that skip the header (bench/tools/pp2_strip.cpp); `--send-proxy v2`.
EXTRA_CONTENDERS = ["edge-pp2"]
COLUMNS = ["direct", "edge", "edge-pp2", "haproxy", "nginx", "socat", "socat-dns"]


@dataclass
class Ports:
    """Fixed ports under BENCH_PORT_BASE (default 27000): away from the test suite's 15353 and
    17000-17002 and below the default ephemeral range (32768-60999), so outgoing connections
    never take one of them. Everything is on 127.0.0.1."""
    base: int
    SPAN = 300  # base .. base+299

    @property
    def dns(self): return self.base + 53
    @property
    def iperf(self): return self.base + 100
    @property
    def http(self): return self.base + 101
    @property
    def redis(self): return self.base + 102
    def idle(self, n): return [self.base + 110 + i for i in range(n)]
    def hold(self, n): return [self.base + 120 + i for i in range(n)]
    # The edge-pp2 contender's backends (copies of the above that skip a PROXY v2 header).
    @property
    def iperf_pp2(self): return self.base + 130
    @property
    def http_pp2(self): return self.base + 131
    @property
    def redis_pp2(self): return self.base + 132
    def idle_pp2(self, n): return [self.base + 140 + i for i in range(n)]
    def contender(self, name): return self.base + 200 + 10 * (CONTENDERS + EXTRA_CONTENDERS).index(name)

    def all_tcp(self, idle_n, hold_n, pp2=False):
        extra = ([self.iperf_pp2, self.http_pp2, self.redis_pp2] + self.idle_pp2(idle_n)
                 + [self.contender("edge-pp2")]) if pp2 else []
        return ([self.iperf, self.http, self.redis] + self.idle(idle_n) + self.hold(hold_n)
                + [self.contender(c) for c in CONTENDERS if c != "direct"] + extra)


@dataclass
class Config:
    reps: int
    duration: int                 # seconds per iperf3 and wrk run
    workloads: list
    contenders: list
    idle_conns: int               # wanted; capped by the descriptor limit (see fd_limit)
    socat_idle_conns: int         # socat forks per connection: measured at a smaller count
    hold_conns: int
    scale_levels: list            # idle connections held at each step of the scale curve
    scale_probes: int             # connect + first byte exchanges measured at each step
    scale_probe_seconds: float
    redis_requests: int
    firstbyte_count: int
    firstbyte_seconds: float
    burst_conns: int
    bursts: int
    budget_minutes: float
    max_foreign_pct: float        # repeat a measurement once if others used more CPU than this
    max_reruns: int
    quick: bool
    keep_tmp: bool
    results_dir: str
    ports: Ports
    user: str = ""                # run edge-connector as this user ("": as the bench, root)
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    fd_limit: int = 0             # RLIMIT_NOFILE every started process gets (set by raise_fd_limit)


def _env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _env_levels(name, default):
    """A comma list of increasing connection counts, e.g. 1000,4000,9500."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        levels = sorted({int(x) for x in value.split(",") if x.strip()})
    except ValueError:
        raise BenchError(f"{name}: expected a comma list of counts, got '{value}'") from None
    if not levels or levels[0] < 1:
        raise BenchError(f"{name}: counts must be at least 1")
    return levels


def _expand(names, known, what):
    out = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        for item in ALIASES.get(name, [name]) if what == "workload" else [name]:
            if item not in known:
                raise BenchError(f"unknown {what} '{item}' (known: {', '.join(known)})")
            if item not in out:
                out.append(item)
    return out


def parse_config(argv):
    p = argparse.ArgumentParser(
        prog="bench/run",
        description="edge-connector vs direct, HAProxy, nginx stream, socat, socat+DNS on "
                    "loopback. Every flag also has an environment variable (in brackets).",
        epilog="More knobs (environment only) and what each workload measures: bench/README.md")
    p.add_argument("--quick", action="store_true",
                   help="smoke run, about 1-2 minutes: 1 repetition, short runs, no 100k test "
                        "[BENCH_QUICK=1]")
    p.add_argument("--reps", type=int, help="repetitions, median reported (default 3) [BENCH_REPS]")
    p.add_argument("--duration", type=int,
                   help="seconds per iperf3 and wrk run (default 4) [BENCH_DURATION]")
    p.add_argument("--only", help="comma list of workloads: " + ", ".join(WORKLOADS) +
                   "; 'throughput' = both throughput runs [BENCH_ONLY]")
    p.add_argument("--contenders", help="comma list of: " + ", ".join(CONTENDERS) +
                   " [BENCH_CONTENDERS]")
    p.add_argument("--send-proxy", choices=["v2"],
                   help="also measure edge-connector with --send-proxy v2 (column "
                   "edge-connector+pp2) against backends that skip the header [BENCH_SEND_PROXY]")
    p.add_argument("--user", help="run edge-connector as this unprivileged user (setpriv), as "
                   "the container image and the systemd unit do; results go to "
                   "latest-USER.md/.json [BENCH_USER]")
    p.add_argument("--keep-tmp", action="store_true",
                   help="keep the temporary directory (configs, logs) [BENCH_KEEP_TMP=1]")
    a = p.parse_args(argv)

    quick = a.quick or os.environ.get("BENCH_QUICK", "") == "1"
    default_workloads = ",".join(w for w in WORKLOADS if not (quick and w == "hold100k"))
    workloads = _expand(a.only or os.environ.get("BENCH_ONLY") or default_workloads,
                        WORKLOADS, "workload")
    contenders = _expand(a.contenders or os.environ.get("BENCH_CONTENDERS") or ",".join(CONTENDERS),
                         CONTENDERS + EXTRA_CONTENDERS, "contender")
    if (a.send_proxy or os.environ.get("BENCH_SEND_PROXY", "")) == "v2":
        contenders.append("edge-pp2")
    contenders = [c for c in COLUMNS if c in contenders]  # fixed column order
    cfg = Config(
        reps=a.reps or _env_int("BENCH_REPS", 1 if quick else 3),
        duration=a.duration or _env_int("BENCH_DURATION", 2 if quick else 4),
        workloads=workloads,
        contenders=contenders,
        idle_conns=_env_int("BENCH_IDLE_CONNS", 2000 if quick else 10000),
        socat_idle_conns=_env_int("BENCH_SOCAT_IDLE_CONNS", 200 if quick else 1000),
        hold_conns=_env_int("BENCH_HOLD_CONNS", 100000),
        scale_levels=_env_levels("BENCH_SCALE_LEVELS",
                                 [500, 1000, 2000] if quick else [1000, 4000, 9500]),
        scale_probes=_env_int("BENCH_SCALE_PROBES", 300 if quick else 1000),
        scale_probe_seconds=_env_int("BENCH_SCALE_SECONDS", 3 if quick else 5),
        redis_requests=_env_int("BENCH_REDIS_REQUESTS", 20000 if quick else 100000),
        firstbyte_count=_env_int("BENCH_FIRSTBYTE_COUNT", 300 if quick else 1000),
        firstbyte_seconds=_env_int("BENCH_FIRSTBYTE_SECONDS", 3 if quick else 8),
        burst_conns=_env_int("BENCH_BURST_CONNS", 50),
        bursts=_env_int("BENCH_BURSTS", 2 if quick else 3),
        budget_minutes=_env_int("BENCH_BUDGET_MIN", 15),
        max_foreign_pct=_env_int("BENCH_MAX_FOREIGN_PCT", 30),
        max_reruns=_env_int("BENCH_MAX_RERUNS", 10),
        quick=quick,
        keep_tmp=a.keep_tmp or os.environ.get("BENCH_KEEP_TMP", "") == "1",
        results_dir=os.environ.get("BENCH_RESULTS") or os.path.join(BENCH_DIR, "results"),
        ports=Ports(_env_int("BENCH_PORT_BASE", 27000)),
        user=a.user or os.environ.get("BENCH_USER", ""),
    )
    if cfg.reps < 1 or cfg.duration < 1:
        raise BenchError("repetitions and duration must be at least 1")
    return cfg


def as_user_prefix(user):
    """The argv prefix that runs a command as `user` (its primary group, no supplementary
    groups), or [] for "". Raises BenchError for an unknown user."""
    if not user:
        return []
    import pwd
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise BenchError(f"--user {user}: no such user") from None
    return ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups",
            "--"]


# ---- tools and binaries ---------------------------------------------------------------------

REQUIRED_COMMANDS = ["haproxy", "nginx", "iperf3", "wrk", "redis-server", "redis-benchmark",
                     "socat", "dig", "shuf", "g++"]
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
DNSMASQ = "/usr/sbin/dnsmasq"


def check_commands():
    missing = [c for c in REQUIRED_COMMANDS if shutil.which(c) is None]
    missing += [path for path in (DNSMASQ, NGINX_STREAM_MODULE) if not os.path.exists(path)]
    if missing:
        raise BenchError(f"missing: {', '.join(missing)} (run bench/install-deps)")


def build_tools():
    """Compiles bench/tools/*.cpp into bench/.build/ (only when a source is newer)."""
    src_dir, out_dir = os.path.join(BENCH_DIR, "tools"), os.path.join(BENCH_DIR, ".build")
    os.makedirs(out_dir, exist_ok=True)
    tools = {}
    for name in ("idle_hold", "idle_open", "connlat", "subreaper", "pp2_strip.so"):
        shared = name.endswith(".so")  # an LD_PRELOAD library (pp2_strip.cpp)
        src = os.path.join(src_dir, name.removesuffix(".so") + ".cpp")
        out = os.path.join(out_dir, name)
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
            r = run(["g++", "-std=c++20", "-O2", "-Wall"] + (["-shared", "-fPIC"] if shared else [])
                    + ["-o", out, src] + (["-ldl"] if shared else []), timeout=180)
            if r.returncode != 0:
                raise BenchError(f"compiling {src} failed:\n{r.stderr[-3000:]}")
        tools[name.removesuffix(".so")] = out
    return tools


def edge_binary():
    """EDGE_BIN if set, otherwise whatever scripts/build produces."""
    path = os.environ.get("EDGE_BIN", "").strip()
    if not path:
        r = run([os.path.join(REPO_DIR, "scripts", "build")], timeout=1200, cwd=REPO_DIR)
        if r.returncode != 0:
            raise BenchError(f"scripts/build failed:\n{(r.stdout + r.stderr)[-3000:]}")
        build_dir = r.stdout.strip().splitlines()[-1]
        path = os.path.join(REPO_DIR, build_dir, "src", "edge-connector")
    if not os.access(path, os.X_OK):
        raise BenchError(f"edge-connector binary not found or not executable: {path}")
    return os.path.abspath(path)


def edge_knows(edge_bin, flag):
    """True if the binary's --help lists the flag (the bench also measures older binaries)."""
    try:
        r = subprocess.run([edge_bin, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag in r.stdout


# ---- kernel limits ---------------------------------------------------------------------------

def raise_fd_limit(wanted):
    """Raises RLIMIT_NOFILE (inherited by everything started) as far as allowed. Going above the
    hard limit needs CAP_SYS_RESOURCE (and fs.nr_open high enough); without it the hard limit
    is what we get. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < wanted:
        if read_sysctl("fs/nr_open") is not None and int(read_sysctl("fs/nr_open")) < wanted:
            write_sysctl("fs/nr_open", str(wanted))
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            pass  # no CAP_SYS_RESOURCE: settle for the hard limit
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


_saved_sysctls = {}


def read_sysctl(key):
    try:
        with open(f"/proc/sys/{key}") as f:
            return f.read().strip()
    except OSError:
        return None


def write_sysctl(key, value):
    """Writes a sysctl, remembering the old value for restore_sysctls(). False if not allowed
    (a read-only /proc/sys in a container, for example)."""
    old = read_sysctl(key)
    if old is None:
        return False
    try:
        with open(f"/proc/sys/{key}", "w") as f:
            f.write(value)
    except OSError:
        return False
    _saved_sysctls.setdefault(key, old)
    return True


def restore_sysctl(key):
    if key in _saved_sysctls:
        try:
            with open(f"/proc/sys/{key}", "w") as f:
                f.write(_saved_sysctls[key] + "\n")  # an empty write would change nothing
            del _saved_sysctls[key]
        except OSError:
            pass


def restore_sysctls():
    for key in list(_saved_sysctls):
        restore_sysctl(key)
    release_ports()


def tune_kernel(ports):
    """Listen queues of 4096 for everyone (HAProxy's and edge-connector's backlog default to
    the kernel cap), and the bench's fixed ports out of the ephemeral range: otherwise an
    outgoing connection (or its TIME_WAIT) can hold a port a contender must listen on next,
    since the range may have been widened below them. Returns notes on what could not be set."""
    notes = []
    if int(read_sysctl("net/core/somaxconn") or 0) < 4096:
        if not write_sysctl("net/core/somaxconn", "4096"):
            notes.append("net.core.somaxconn could not be raised to 4096")
    if not reserve_ports(ports):
        notes.append("net.ipv4.ip_local_reserved_ports not writable: the bench's ports are not "
                     "kept out of the ephemeral range")
    return notes


RESERVED = "net/ipv4/ip_local_reserved_ports"
_reserved_range = None


def reserve_ports(ports):
    """Adds the bench's range to the reserved ports (whatever else is reserved stays)."""
    global _reserved_range
    current = read_sysctl(RESERVED)
    ours = f"{ports.base}-{ports.base + ports.SPAN - 1}"
    if current is None:
        return False
    if ours in current.split(","):
        return True  # already there (another run with the same ports?): not ours to remove
    try:
        with open(f"/proc/sys/{RESERVED}", "w") as f:
            f.write(f"{current},{ours}\n" if current else f"{ours}\n")
    except OSError:
        return False
    _reserved_range = ours
    return True


def release_ports():
    """Removes only the bench's own range: restoring a saved copy of the whole list would undo
    what anything else (another bench run, say) reserved in the meantime."""
    global _reserved_range
    if _reserved_range is None:
        return
    current = read_sysctl(RESERVED) or ""
    rest = [r for r in current.split(",") if r and r != _reserved_range]
    try:
        with open(f"/proc/sys/{RESERVED}", "w") as f:
            f.write(",".join(rest) + "\n")
        _reserved_range = None
    except OSError:
        pass


# ---- machine and versions -------------------------------------------------------------------

def _first_line(argv, pattern=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = r.stdout + r.stderr
    if pattern:
        m = re.search(pattern, text)
        return m.group(1) if m else "?"
    return text.strip().splitlines()[0] if text.strip() else "?"


def describe_machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {"cores": os.cpu_count(), "cpu": model, "kernel": platform.release(),
            "memory_gib": round(mem_kib / 1048576, 1),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def describe_versions(edge_bin):
    git = _first_line(["git", "-C", REPO_DIR, "describe", "--always", "--dirty", "--tags"])
    edge = _first_line([edge_bin, "--version"], r"(\d[\w.-]*)")
    return {
        "edge-connector": f"{edge} (git {git})",
        "haproxy": _first_line(["haproxy", "-v"], r"version (\S+)"),
        "nginx": _first_line(["nginx", "-v"], r"nginx/(\S+)"),
        "socat": _first_line(["socat", "-V"], r"socat version (\S+)"),
        "iperf3": _first_line(["iperf3", "--version"], r"iperf (\S+)"),
        "wrk": _first_line(["wrk", "--version"], r"wrk (\S+)"),
        "redis": _first_line(["redis-server", "--version"], r"v=(\S+)"),
        "dnsmasq": _first_line([DNSMASQ, "--version"], r"version (\S+)"),
    }


def describe_binary(path):
    """Which daemon was measured: path, build time and a hash (the git revision alone does not
    say, when the tree has uncommitted changes)."""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    built = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    return {"path": path, "sha256": digest, "built": built.strftime("%Y-%m-%d %H:%M UTC")}
