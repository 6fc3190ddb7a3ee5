"""End-to-end readiness probes: one small exchange with the backend behind an address.

A proxy that listens is not ready yet: it may still be waiting for its first DNS answer (then
edge-connector closes the client at once, HAProxy has its servers in maintenance). So readiness
means one real exchange went through to the backend."""

import socket
import subprocess
import time

from procs import BenchError


def _exchange(port, send, expect, timeout):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        if send:
            s.sendall(send)
        got = b""
        while len(got) < len(expect):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got.startswith(expect)


def probe_once(kind, port, timeout=2.0):
    """True if one exchange of the given kind through 127.0.0.1:port succeeded."""
    try:
        if kind == "redis":
            return _exchange(port, b"PING\r\n", b"+PONG", timeout)
        if kind == "http":
            return _exchange(port, b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
                             b"HTTP/1.1 200", timeout)
        if kind == "idle":
            return _exchange(port, b"", b"!", timeout)  # idle_hold greets with one byte
        if kind == "iperf":
            # a real (tiny) iperf3 test: iperf3's server copes with clients that vanish, but a
            # half-made test through a proxy that is not ready yet would only fail this probe
            r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-n", "256K"],
                               capture_output=True, timeout=10)
            return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
    raise ValueError(kind)


def wait_ready(kind, port, what, managed=None, budget=15.0):
    """Probes until success, at most `budget` seconds; fails clearly (with the log of the
    process behind it, if any) otherwise."""
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        if managed is not None and not managed.alive():
            raise BenchError(f"{what} exited during start-up:\n{managed.log_tail()}")
        if probe_once(kind, port):
            return
        time.sleep(0.1)
    tail = f":\n{managed.log_tail()}" if managed is not None else ""
    raise BenchError(f"{what} not ready within {budget:.0f} s ({kind} probe on "
                     f"127.0.0.1:{port}){tail}")
