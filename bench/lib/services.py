"""The DNS server and the backends every contender forwards to (all on 127.0.0.1).

    service  backend                                 SRV record
    iperf    iperf3 -s                               _iperf._tcp.bench.test
    http     nginx returning a 3-byte 200 response    _http._tcp.bench.test
    redis    redis-server (no persistence)           _redis._tcp.bench.test
    idle     idle_hold on 4 ports (greets, holds)    _idle._tcp.bench.test (4 records)
    hold     idle_hold, one process per port         _hold._tcp.bench.test (100k test only)
"""

import os
import subprocess
import time
from dataclasses import dataclass

from benchenv import DNSMASQ
from probes import wait_ready
from procs import BenchError, Managed

DOMAIN = "bench.test"


@dataclass
class Service:
    name: str
    probe: str      # kind of readiness probe (see probes.py)
    ports: list     # backend ports, one SRV record each

    @property
    def srv(self):
        return f"_{self.name}._tcp.{DOMAIN}"

    def host(self, i):
        return f"{self.name}-{i}.{DOMAIN}"


def service_table(cfg, hold_backends):
    p = cfg.ports
    return {
        "iperf": Service("iperf", "iperf", [p.iperf]),
        "http": Service("http", "http", [p.http]),
        "redis": Service("redis", "redis", [p.redis]),
        "idle": Service("idle", "idle", p.idle(4)),
        "hold": Service("hold", "idle", p.hold(hold_backends)),
    }


class Backends:
    """Starts dnsmasq and the long-lived backends once; they serve every repetition."""

    def __init__(self, cfg, tmp, tools, services):
        self.cfg, self.tmp, self.tools, self.services = cfg, tmp, tools, services
        self.procs = {}

    def start(self):
        self._start_dnsmasq()
        self._start("iperf", ["iperf3", "-s", "-p", str(self.cfg.ports.iperf), "-B", "127.0.0.1"])
        self._start("http", self._nginx_http_argv())
        self._start("redis", ["redis-server", "--port", str(self.cfg.ports.redis),
                              "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--logfile", ""])
        self._start("idle", [self.tools["idle_hold"]] + [str(x) for x in self.services["idle"].ports])

    def dead(self):
        """What of dnsmasq and the backends is no longer running (with its log's last line):
        a measurement that failed says so, since no contender can work without them."""
        return [f"{m.name} exited ({(m.log_tail(1) or '').strip()})"
                for m in self.procs.values() if not m.alive()]

    def revive(self):
        """Restarts dnsmasq or a backend found dead (something outside the bench stopped it: on
        a shared machine, another user's `pkill dnsmasq` was seen doing that). Returns what was
        restarted, with the last line of its log, for the notes."""
        revived = []
        for name, m in list(self.procs.items()):
            if m.alive():
                continue
            revived.append(f"{m.name} ({(m.log_tail(1) or '').strip()})")
            self.procs.pop(name).stop()
            if name == "dns":
                self._start_dnsmasq()
            else:
                self._start(name, m.proc.args)
        return revived

    def restart(self, name):
        """Used after a failed iperf3 run: a client killed mid-test can leave iperf3 -s busy."""
        argv = self.procs[name].proc.args
        self.procs.pop(name).stop()
        self._start(name, argv)

    def _start(self, name, argv):
        svc = self.services[name]
        m = Managed(f"backend {name}", argv, os.path.join(self.tmp, f"backend-{name}.log"))
        self.procs[name] = m
        for port in svc.ports:
            wait_ready(svc.probe, port, f"backend {name}", m)

    def _start_dnsmasq(self):
        argv = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--conf-file=/dev/null", "--pid-file", "--bind-interfaces",
                "--listen-address=127.0.0.1", f"--port={self.cfg.ports.dns}",
                "--local-ttl=30", f"--local=/{DOMAIN}/", "--log-facility=-"]
        for svc in self.services.values():
            for i, port in enumerate(svc.ports):
                # priority 10, weight 10 each: equal spread over a service's backends
                argv.append(f"--srv-host={svc.srv},{svc.host(i)},{port},10,10")
                argv.append(f"--host-record={svc.host(i)},127.0.0.1")
        m = Managed("dnsmasq", argv, os.path.join(self.tmp, "dnsmasq.log"))
        self.procs["dns"] = m
        self._wait_dns(m)

    def _wait_dns(self, m):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not m.alive():
                raise BenchError(f"dnsmasq exited:\n{m.log_tail()}")
            r = subprocess.run(["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p",
                                str(self.cfg.ports.dns), self.services["redis"].srv, "SRV"],
                               capture_output=True, text=True, timeout=5)
            if str(self.cfg.ports.redis) in r.stdout:
                return
            time.sleep(0.1)
        raise BenchError(f"dnsmasq does not answer SRV queries:\n{m.log_tail()}")

    def _nginx_http_argv(self):
        prefix = os.path.join(self.tmp, "nginx-http")
        os.makedirs(prefix, exist_ok=True)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""# HTTP backend for the connection-rate run: a tiny fixed response, no logging.
worker_processes auto;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    default_type text/plain;
    server {{
        listen 127.0.0.1:{self.cfg.ports.http} backlog=4096;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")
        return ["nginx", "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c", conf,
                "-g", "daemon off;"]
