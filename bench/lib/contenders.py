"""The contenders: how each is configured and started in front of one service.

Each contender is started fresh for every (repetition, workload) and stopped afterwards, so
one workload's leftovers (buffers, pools, TIME_WAIT handling) do not bleed into the next
measurement and CPU/memory readings cover exactly one workload. Readiness is an end-to-end
probe through the contender (see probes.py), never just "the port is open".

Worker counts are matched: edge-connector --workers = HAProxy nbthread = nginx workers = cores.
"""

import os
import subprocess
import sys
import threading
import urllib.request

from benchenv import as_user_prefix
from probes import wait_ready
from procs import Managed, cpu_seconds, pss_kib, wait_tree_size

FORKING_BASE_TREE = 2  # subreaper + the listening socat, when no connection is open

LABELS = {"direct": "direct", "edge": "edge-connector", "edge-pp2": "edge-connector+pp2",
          "haproxy": "HAProxy", "nginx": "nginx stream", "socat": "socat",
          "socat-dns": "socat+DNS"}


class Running:
    """A contender serving one service: where clients connect and what to measure."""

    def __init__(self, key, port, managed=None, forks=False, client_ports=None, scraper=None):
        self.key = key
        self.scraper = scraper                          # edge-connector: /metrics every second
        self.port = port                                # clients connect to 127.0.0.1:port
        self.client_ports = client_ports or [port]      # direct spreads over every backend
        self.managed = managed                          # None for direct: nothing to measure
        self.forks = forks                              # socat: a process per connection

    def cpu(self):
        return cpu_seconds(self.managed.pid) if self.managed else None

    def pss(self):
        return pss_kib(self.managed.pid) if self.managed else None

    def settle(self):
        """socat's per-connection children must have exited (and been reaped into cutime/cstime)
        before CPU is read; the others need nothing."""
        if self.managed and self.forks:
            wait_tree_size(self.managed.pid, FORKING_BASE_TREE, timeout=5)

    def stop(self):
        if self.scraper:
            self.scraper.stop()
        if self.managed:
            self.managed.stop()


class Scraper:
    """GET /metrics every `interval` seconds while a contender runs, as Prometheus would (the
    admin endpoint must not slow the data path: its cost is in every figure measured)."""

    def __init__(self, url, interval=1.0):
        self.url = url
        self.interval = interval
        self.scrapes = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    r.read()
                self.scrapes += 1
            except OSError:
                self.failures += 1

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        print(f"   scraper: {self.scrapes} scrapes of {self.url}, {self.failures} failed",
              file=sys.stderr, flush=True)


class Contender:
    key = ""
    forks = False

    def __init__(self, ctx):
        self.ctx = ctx

    @property
    def label(self):
        return LABELS[self.key]

    def argv(self, svc, port, workdir):
        raise NotImplementedError

    def start(self, svc):
        port = self.ctx.cfg.ports.contender(self.key)
        workdir = os.path.join(self.ctx.tmp, f"{self.key}-{svc.name}")
        os.makedirs(workdir, exist_ok=True)
        argv = self.argv(svc, port, workdir)
        if self.forks:
            # orphans of socat's children must stay in the measured tree (see subreaper.cpp)
            argv = [self.ctx.tools["subreaper"]] + argv
        m = Managed(self.label, argv, os.path.join(workdir, "stderr.log"),
                    stdout=subprocess.DEVNULL)
        try:
            wait_ready(svc.probe, port, f"{self.label} ({svc.name})", m)
            if self.forks:  # the probe's children must be gone
                wait_tree_size(m.pid, FORKING_BASE_TREE, timeout=5)
        except BaseException:
            m.stop()
            raise
        return Running(self.key, port, m, self.forks, scraper=self.scraper(port))

    def scraper(self, port):
        return None


class Direct(Contender):
    """No proxy: the client talks to the backend itself. The upper limit."""
    key = "direct"

    def start(self, svc):
        return Running(self.key, svc.ports[0], None, client_ports=svc.ports)


class Edge(Contender):
    """edge-connector discovering the backends through the service's SRV record, with its
    defaults otherwise. Its access log (stdout: an open and a close line per connection) goes to
    /dev/null: the lines are still formatted and written, but no disk is involved (the other
    proxies are not asked to log either). Its admin endpoint is on (next to its port) and
    scraped every second, as a Prometheus server would, during every measurement.

    --max-connections: the same number as HAProxy's maxconn. edge-connector's default keeps a
    quarter of the descriptors for splice pipes (8,470 connections at 20,000 descriptors),
    which idle connections never use; without it the 9,500-connection runs would be cut at the
    limit. Passed only to a binary that knows the flag (older ones do not)."""
    key = "edge"

    def argv(self, svc, port, workdir):
        c = self.ctx
        limit = (["--max-connections", str(HAProxy.maxconn(c.cfg.fd_limit))]
                 if c.edge_max_connections_flag else [])
        # --user: as an unprivileged user, whose pipes share fs.pipe-user-pages-soft
        return as_user_prefix(c.cfg.user) + [
            c.edge_bin, "--listen", f"127.0.0.1:{port}", "--target", svc.srv, "--type", "srv",
            "--dns-server", f"127.0.0.1:{c.cfg.ports.dns}", "--workers", str(c.cfg.cores),
            "--idle-timeout", "off", "--drain-timeout", "1s", "--log-level", "info"] + limit + (
                ["--admin", f"127.0.0.1:{self.admin_port(port)}"] if c.edge_admin_flag else [])

    @staticmethod
    def admin_port(port):
        return port + 1  # contenders' ports are 10 apart

    def scraper(self, port):
        if not self.ctx.edge_admin_flag:
            return None
        return Scraper(f"http://127.0.0.1:{self.admin_port(port)}/metrics")


class EdgePp2(Edge):
    """edge-connector as above plus --send-proxy v2 (the header with the connection id TLV on
    every target connection), in front of the same backends' pp2 copies, which skip the header
    (services.py). Opt-in: `bench/run --send-proxy v2`."""
    key = "edge-pp2"

    def start(self, svc):
        return super().start(self.ctx.services[svc.name + "-pp2"])

    def argv(self, svc, port, workdir):
        return super().argv(svc, port, workdir) + ["--send-proxy", "v2"]


class HAProxy(Contender):
    """HAProxy in TCP mode, best settings for this job: resolvers on the same dnsmasq and a
    server-template on the same SRV record, splice, one thread per core, long timeouts, and
    the largest maxconn the descriptor limit allows: HAProxy refuses to start unless
    2 x maxconn + 2 x maxpipes descriptors are available, and maxpipes defaults to maxconn/4.
    Pipes are only held by connections that are splicing at that moment (a handful in the
    throughput runs; without a free pipe HAProxy falls back to recv/send), so a fixed 256
    pipes leaves the rest of the limit to connections."""
    key = "haproxy"
    MAXPIPES = 256

    @classmethod
    def maxconn(cls, fd_limit):
        return max(1000, (fd_limit - 2 * cls.MAXPIPES - 300) // 2)

    def argv(self, svc, port, workdir):
        c = self.ctx
        maxconn = self.maxconn(c.cfg.fd_limit)
        conf = os.path.join(workdir, "haproxy.cfg")
        with open(conf, "w") as f:
            f.write(f"""global
    nbthread {c.cfg.cores}
    maxconn {maxconn}
    maxpipes {self.MAXPIPES}

defaults
    mode tcp
    maxconn {maxconn}
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    option splice-auto

resolvers dnsmasq
    nameserver dns1 127.0.0.1:{c.cfg.ports.dns}
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 1s
    timeout retry 1s
    hold valid 30s
    hold other 30s
    hold refused 30s
    hold nx 30s
    hold timeout 30s
    hold obsolete 30s

frontend fe
    bind 127.0.0.1:{port}
    default_backend be

backend be
    balance roundrobin
    server-template srv {len(svc.ports)} {svc.srv} resolvers dnsmasq resolve-prefer ipv4 init-addr none
""")
        # -W: master-worker as in Debian's systemd unit; -db: stay in the foreground
        return ["haproxy", "-W", "-db", "-f", conf]


class Nginx(Contender):
    """nginx stream proxy_pass to a static upstream of the same backends (open-source nginx
    cannot resolve SRV records). One worker per core, reuseport so connections spread over the
    workers, a 4096 backlog like the others, worker_connections up to the descriptor limit."""
    key = "nginx"

    def argv(self, svc, port, workdir):
        c = self.ctx
        servers = "\n".join(f"        server 127.0.0.1:{p};" for p in svc.ports)
        conf = os.path.join(workdir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes auto;
worker_rlimit_nofile {c.cfg.fd_limit};
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{
    worker_connections {max(1024, c.cfg.fd_limit - 100)};
    multi_accept on;
}}
stream {{
    upstream backends {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        proxy_pass backends;
        proxy_connect_timeout 5s;
        proxy_timeout 1h;
    }}
}}
""")
        return ["nginx", "-p", workdir, "-e", os.path.join(workdir, "error.log"), "-c", conf,
                "-g", "daemon off;"]


class Socat(Contender):
    """Plain socat: a forked process per connection, default listen backlog (5)."""
    key = "socat"
    forks = True

    def argv(self, svc, port, workdir):
        return ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
                f"TCP:127.0.0.1:{svc.ports[0]}"]


HANDLER = """#!/bin/sh
# The design edge-connector replaces: for every connection, look the SRV record up, pick an
# answer at random, resolve its target and hand the connection to a second socat.
set -eu
dns_port=$1 name=$2
answer=$(dig +short +time=2 +tries=2 @127.0.0.1 -p "$dns_port" "$name" SRV | shuf -n 1)
set -- $answer    # priority weight port target
addr=$(dig +short +time=2 +tries=2 @127.0.0.1 -p "$dns_port" "$4" A | head -n 1)
exec socat - "TCP:$addr:$3"
"""


class SocatDns(Contender):
    """socat forking a handler script per connection that does the DNS lookups with dig."""
    key = "socat-dns"
    forks = True

    def argv(self, svc, port, workdir):
        handler = os.path.join(self.ctx.tmp, "socat-dns-handler.sh")
        if not os.path.exists(handler):
            with open(handler, "w") as f:
                f.write(HANDLER)
            os.chmod(handler, 0o755)
        return ["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr",
                f"EXEC:{handler} {self.ctx.cfg.ports.dns} {svc.srv}"]


def make_contenders(ctx, keys):
    classes = {c.key: c for c in (Direct, Edge, EdgePp2, HAProxy, Nginx, Socat, SocatDns)}
    return [classes[k](ctx) for k in keys]
