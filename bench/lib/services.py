"""The DNS server and the backends every contender forwards to (all on 127.0.0.1).

    service  backend                                 SRV record
    iperf    iperf3 -s                               _iperf._tcp.bench.test
    http     nginx returning a 3-byte 200 response    _http._tcp.bench.test
    redis    redis-server (no persistence)           _redis._tcp.bench.test
    idle     idle_hold on 4 ports (greets, holds)    _idle._tcp.bench.test (4 records)
    hold     idle_hold, one process per port         _hold._tcp.bench.test (100k test only)

With the edge-pp2 contender (`bench/run --send-proxy v2`), iperf, http, redis and idle also
run as second copies on their own ports (services "iperf-pp2", ...) under the LD_PRELOAD shim
bench/tools/pp2_strip.cpp, which drops the PROXY v2 header at accept: the same programs, fed
the same bytes as the other contenders' backends.
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


PP2_SERVICES = ("iperf", "http", "redis", "idle")  # the ones edge-pp2 is measured against


def service_table(cfg, hold_backends):
    p = cfg.ports
    table = {
        "iperf": Service("iperf", "iperf", [p.iperf]),
        "http": Service("http", "http", [p.http]),
        "redis": Service("redis", "redis", [p.redis]),
        "idle": Service("idle", "idle", p.idle(4)),
        "hold": Service("hold", "idle", p.hold(hold_backends)),
    }
    if "edge-pp2" in cfg.contenders:
        table.update({
            "iperf-pp2": Service("iperf-pp2", "iperf", [p.iperf_pp2]),
            "http-pp2": Service("http-pp2", "http", [p.http_pp2]),
            "redis-pp2": Service("redis-pp2", "redis", [p.redis_pp2]),
            "idle-pp2": Service("idle-pp2", "idle", p.idle_pp2(4)),
        })
    return table


class Backends:
    """Starts dnsmasq and the long-lived backends once; they serve every repetition."""

    def __init__(self, cfg, tmp, tools, services):
        self.cfg, self.tmp, self.tools, self.services = cfg, tmp, tools, services
        self.procs = {}

    def start(self):
        self._start_dnsmasq()
        for name in ("iperf", "http", "redis", "idle"):
            self._start(name, self._argv(name, name))
            if name + "-pp2" in self.services:  # the same program, under the header skipper
                self._start(name + "-pp2", ["env", f"LD_PRELOAD={self.tools['pp2_strip']}"]
                            + self._argv(name, name + "-pp2"))

    def _argv(self, kind, name):
        ports = self.services[name].ports
        if kind == "iperf":
            return ["iperf3", "-s", "-p", str(ports[0]), "-B", "127.0.0.1"]
        if kind == "http":
            return self._nginx_http_argv(name, ports[0])
        if kind == "redis":
            return ["redis-server", "--port", str(ports[0]), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--logfile", ""]
        return [self.tools["idle_hold"]] + [str(x) for x in ports]

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

    def _nginx_http_argv(self, name, port):
        prefix = os.path.join(self.tmp, "nginx-" + name)
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
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
""")
        return ["nginx", "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c", conf,
                "-g", "daemon off;"]
