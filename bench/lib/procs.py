"""Processes the bench starts, and what the kernel says about them.

Every long-running process is started in its own session (so its own process group): stopping
it signals the whole group, which also takes down socat's per-connection children, nginx and
HAProxy workers and any dig a handler script started. Every process started goes into a
registry so cleanup() can stop whatever is still running on any exit path (Ctrl-C included).
"""

import os
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A failure that should stop the bench with a clear message (not a traceback)."""


class Managed:
    """One started process (and its process group)."""

    def __init__(self, name, argv, log_path, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                 env=None):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "ab")
        try:
            self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=self._log,
                                         env=env, start_new_session=True)
        except OSError as e:
            self._log.close()
            raise BenchError(f"cannot start {name} ({argv[0]}): {e}") from e
        _registry.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, grace=3.0):
        """SIGTERM to the group, SIGKILL to whatever is left after `grace` seconds."""
        if self in _registry:
            _registry.remove(self)
        _signal_group(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (self.alive() or _group_exists(self.pid)):
            time.sleep(0.02)
        _signal_group(self.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe:
                pipe.close()
        self._log.close()

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read()[-8000:].decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


_registry = []


def cleanup():
    """Stops every process still registered, newest first (clients before servers)."""
    for m in reversed(list(_registry)):
        try:
            m.stop(grace=2.0)
        except Exception:  # keep going: the rest must still be stopped
            pass


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_exists(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


# ---- /proc readings -------------------------------------------------------------------------

def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (index 0 = state, 1 = ppid...)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()


def tree(root):
    """root and all its live descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(entry)[1])
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(root):
    """utime+stime of the tree, plus cutime+cstime (children already reaped) of each member.

    A process's cutime only covers children that exited and were waited for, which are no longer
    in the tree, so nothing is counted twice. socat's per-connection children show up here once
    socat has reaped them."""
    ticks = 0
    for pid in tree(root):
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        ticks += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return ticks / CLK_TCK


def pss_kib(root):
    """Proportional set size of the tree (KiB): shared pages are split between sharers."""
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def _meminfo():
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0])
    return info


def system_used_kib():
    """MemTotal - MemAvailable (KiB): everything the system could not hand out right now,
    kernel socket and slab memory included. Moves with page-cache reclaim and (in a VM) the
    balloon too, which is noise for this purpose; see objects_kib()."""
    info = _meminfo()
    return info["MemTotal"] - info["MemAvailable"]


def objects_kib():
    """Kernel objects in use + process memory (KiB), system-wide: the sum over /proc/slabinfo
    of active objects x object size, plus AnonPages + PageTables + KernelStack.

    Socket, file, epoll and pipe structures are all slab objects. Counting objects rather than
    slab pages (meminfo's Slab) matters: freed sockets leave their pages in the slab caches,
    so new sockets often need no new pages at all and a page count depends on what ran before
    (a few KiB per connection one hour, 0.7 the next). MemAvailable has that problem too,
    and also drifts with page-cache reclaim and, in a VM, the balloon."""
    total = 0
    with open("/proc/slabinfo") as f:
        for line in f:
            fields = line.split()
            if fields and fields[1].isdigit():  # skip the version and header lines
                total += int(fields[1]) * int(fields[3])  # active_objs x objsize
    info = _meminfo()
    return total // 1024 + info["AnonPages"] + info["PageTables"] + info["KernelStack"]


class LoadMeter:
    """CPU busy time on the machine that the bench's own processes did not use: other users of
    the machine (and kernel threads such as ksoftirqd) competing with the measurement."""

    def __init__(self):
        self.busy0, self.ours0, self.t0 = _busy_seconds(), cpu_seconds(os.getpid()), time.monotonic()

    def foreign_cpu_pct(self):
        """Percent of one core used by others since construction; None for less than a second,
        where the clock-tick granularity of the counters makes the figure meaningless."""
        elapsed = time.monotonic() - self.t0
        if elapsed < 1.0:
            return None
        foreign = (_busy_seconds() - self.busy0) - (cpu_seconds(os.getpid()) - self.ours0)
        return round(max(0.0, foreign) / elapsed * 100, 1)


def wait_for_quiet(limit_pct, timeout):
    """Waits (bounded) for a second in which other processes used less than limit_pct."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meter = LoadMeter()
        time.sleep(1.05)
        if meter.foreign_cpu_pct() < limit_pct:
            return True
    return False


def _busy_seconds():
    """Non-idle CPU time of the whole machine (user+nice+system+irq+softirq+steal)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def wait_tree_size(root, size, timeout):
    """Waits (bounded) until the tree of root has at most `size` processes: used for socat, whose
    per-connection children must have exited (and been reaped) before its CPU time is read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(tree(root)) <= size:
            return True
        time.sleep(0.05)
    return False


# ---- ports ------------------------------------------------------------------------------------

def check_port_free(port, udp=False, wait=0.0):
    """Raises BenchError if something uses 127.0.0.1:port. SO_REUSEADDR, as every server here
    uses it; a TIME_WAIT left by an outgoing connection still blocks, so retry for up to
    `wait` seconds (while nothing listens on the port)."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    deadline = time.monotonic() + wait
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                if not udp:
                    s.listen(1)
                return
            except OSError as e:
                error = e
        if time.monotonic() >= deadline or udp or _listening(port):
            raise BenchError(
                f"port 127.0.0.1:{port}/{'udp' if udp else 'tcp'} is busy ({error.strerror}); "
                "stop what uses it or move the bench with BENCH_PORT_BASE") from error
        time.sleep(1)


def _listening(port):
    """True if /proc/net/tcp shows a listening socket (state 0A) on this local port."""
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
                    return True
    except OSError:
        pass
    return False


def run(argv, timeout, **kwargs):
    """subprocess.run with a hard time bound; returns CompletedProcess or raises BenchError."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"{argv[0]} did not finish within {timeout} s") from e
    except OSError as e:
        raise BenchError(f"cannot run {argv[0]}: {e}") from e
