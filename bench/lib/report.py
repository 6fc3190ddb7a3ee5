"""Turns the per-repetition records into figures (medians), the markdown table, the acceptance
lines for edge-connector and the JSON file."""

import json
import statistics

from contenders import LABELS

GIB = 1024 ** 3


def _median(values):
    return statistics.median(values) if values else None


def _sum(values):
    return sum(values) if values else None


def _max(values):
    return max(values) if values else None


# key, label, workload, metric, aggregate over repetitions, ratios shown
ROWS = [
    ("tput1", "Throughput, 1 stream (Gbit/s, higher is better)", "throughput1", "gbps", _median, True),
    ("tput4", "Throughput, 4 streams (Gbit/s)", "throughput4", "gbps", _median, True),
    ("conn_s", "New connections (conn/s)", "connrate", "conn_s", _median, True),
    ("conn_err", "wrk errors (sum over repetitions)", "connrate", "errors", _sum, False),
    ("rr_p50", "Request/response p50 (ms, lower is better)", "latency", "p50_ms", _median, True),
    ("rr_p99", "Request/response p99 (ms)", "latency", "p99_ms", _median, True),
    ("fb_p50", "Connect + first byte p50 (ms)", "firstbyte", "p50_ms", _median, True),
    ("fb_p99", "Connect + first byte p99 (ms)", "firstbyte", "p99_ms", _median, True),
    ("pss", "Proxy PSS per idle conn (KiB)", "idle", "pss_kib_per_conn", _median, True),
    ("sys", "System memory per idle conn (KiB)", "idle", "obj_kib_per_conn", _median, True),
    ("sys_avail", "MemTotal − MemAvailable per idle conn (KiB, noisy)", "idle",
     "sys_kib_per_conn", _median, False),
    ("cpu_gib", "Proxy CPU per GiB forwarded (s)", None, None, _median, True),
    ("cpu_1k", "Proxy CPU per 1000 connections (s)", "connrate", "cpu_per_1000", _median, True),
    ("burst_worst", "Burst: worst connect + first byte (ms, max over repetitions)", "burst",
     "worst_ms", _max, True),
    ("burst_fail", "Burst: failed connections (sum)", "burst", "failed", _sum, False),
]


def _ok(records, workload, contender):
    return [r for r in records if r["workload"] == workload and r["contender"] == contender
            and r.get("ok") and not r["metrics"].get("skipped")]


def _cpu_per_gib(records, contender):
    """Per repetition: CPU of both throughput runs over the bytes of both; median of those."""
    per_rep = []
    for rep in sorted({r["rep"] for r in records}):
        runs = [r for r in records if r["rep"] == rep and r["contender"] == contender and r.get("ok")
                and r["workload"] in ("throughput1", "throughput4")]
        cpu = [r["metrics"]["cpu_s"] for r in runs if r["metrics"].get("cpu_s") is not None]
        moved = sum(r["metrics"]["bytes"] for r in runs)
        if runs and len(cpu) == len(runs) and moved > 0:
            per_rep.append(sum(cpu) / (moved / GIB))
    return per_rep


def figures(records, contenders):
    """{row key: {contender: aggregated value or None}}"""
    out = {}
    for key, _, workload, metric, agg, _ in ROWS:
        out[key] = {}
        for c in contenders:
            if key == "cpu_gib":
                values = _cpu_per_gib(records, c)
            else:
                values = [r["metrics"][metric] for r in _ok(records, workload, c)
                          if r["metrics"].get(metric) is not None]
            out[key][c] = agg(values)
    out["scale"] = scale_figures(records, contenders)
    # burst failures read better as "failed of total"
    out["burst_total"] = {c: _sum([r["metrics"]["total"] for r in _ok(records, "burst", c)])
                          for c in contenders}
    return out


# The scale curve: per level of idle connections held, these figures (medians over repetitions).
SCALE_ROWS = [("pss_kib_per_conn", "proxy PSS per idle conn (KiB)"),
              ("pss_kib_per_added_conn", "proxy PSS per conn added since the level before (KiB)"),
              ("p50_ms", "connect + first byte p50 (ms)"),
              ("p99_ms", "connect + first byte p99 (ms)")]


def scale_figures(records, contenders):
    """{level: {metric: {contender: median}}}; level 0 is the latency before any idle
    connection was opened (the baseline)."""
    values = {}

    def add(level, metric, c, v):
        if v is not None:
            values.setdefault(level, {}).setdefault(metric, {}).setdefault(c, []).append(v)
    for c in contenders:
        for rec in _ok(records, "scale", c):
            m = rec["metrics"]
            for metric in ("p50_ms", "p99_ms"):
                add(0, metric, c, m["baseline"].get(metric))
            # the marginal cost: PSS growth over the connections added since the level before
            # (allocator free lists left by the warm-up make the first level's average lower)
            prev_pss, prev_est = m.get("pss_before_kib"), 0
            for step in m["levels"]:
                pss, est = step.get("pss_after_kib"), step.get("established", 0)
                if prev_pss is not None and pss is not None and est > prev_est:
                    step = dict(step, pss_kib_per_added_conn=(pss - prev_pss) / (est - prev_est))
                prev_pss, prev_est = pss, est
                for metric, _ in SCALE_ROWS:
                    add(step["level"], metric, c, step.get(metric))
    return {level: {metric: {c: _median(values[level].get(metric, {}).get(c, []))
                             for c in contenders}
                    for metric, _ in SCALE_ROWS if metric in values[level]}
            for level in sorted(values)}


def scale_table(scale, contenders):
    """The scale curve as markdown: a row per (level, figure), a column per contender measured,
    each cell with its ratio to HAProxy (and direct); then how much each figure moved from the
    smallest level to the largest, per contender (1.00× = flat)."""
    shown = [c for c in contenders
             if any(v.get(c) is not None for lv in scale.values() for v in lv.values())]
    lines = ["| idle conns held | figure | " + " | ".join(LABELS[c] for c in shown) + " |",
             "|---|---|" + "---|" * len(shown)]
    for level, metrics in scale.items():
        for metric, label in SCALE_ROWS:
            if metric not in metrics:
                continue
            cells = [_cell(metrics, metric, c, shown, True, {}) for c in shown]
            lines.append(f"| {'none (baseline)' if level == 0 else f'{level:,}'} | {label} | "
                         + " | ".join(cells) + " |")
    levels = [lv for lv in scale if lv > 0]
    growth = []
    if len(levels) >= 2:
        lo, hi = levels[0], levels[-1]
        for c in shown:
            parts = []
            for metric, label in SCALE_ROWS:
                a = scale[lo].get(metric, {}).get(c)
                b = scale[hi].get(metric, {}).get(c)
                if a and b is not None:
                    parts.append(f"{label.split(' (')[0]} {b / a:.2f}×")
            if parts:
                growth.append(f"{LABELS[c]}: " + ", ".join(parts))
    return "\n".join(lines), growth, levels


def fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, int):
        return f"{v:,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _ratio(v, ref, tag):
    if v is None or not ref:
        return None
    return f"{v / ref:.2f}×{tag}"


def _cell(fig, key, c, contenders, ratios, marks):
    v = fig[key][c]
    if v is None:
        return "n/a"
    text = fmt(v)
    if key == "burst_fail" and fig["burst_total"].get(c):
        text = f"{v:.0f} of {fig['burst_total'][c]:.0f}"
    if ratios:
        parts = []
        if c != "haproxy" and "haproxy" in contenders:
            parts.append(_ratio(v, fig[key]["haproxy"], "H"))
        if c != "direct" and "direct" in contenders:
            parts.append(_ratio(v, fig[key]["direct"], "D"))
        parts = [p for p in parts if p]
        if parts:
            text += f" ({', '.join(parts)})"
    return text + marks.get((key, c), "")


def markdown_table(fig, contenders, idle_conns, socat_idle):
    marks = {}
    if "socat" in contenders and fig["pss"].get("socat") is not None:
        for key in ("pss", "sys", "sys_avail"):
            marks[(key, "socat")] = " †"
    lines = ["| figure | " + " | ".join(LABELS[c] for c in contenders) + " |",
             "|---|" + "---|" * len(contenders)]
    for key, label, _, _, _, ratios in ROWS:
        if all(fig[key][c] is None for c in contenders):
            continue  # workload not run
        if key in ("pss", "sys", "sys_avail"):
            label = label.replace("(KiB)", f"(KiB, {idle_conns:,} conns)")
        cells = [_cell(fig, key, c, contenders, ratios, marks) for c in contenders]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    notes = [
        "Each cell: the median over the repetitions (worst/sum where the row says so), then its "
        "ratio to HAProxy (×H) and to direct (×D); a ratio above 1 is better for throughput "
        "and conn/s, worse for everything else. n/a: not applicable or not measured.",
    ]
    if marks:
        notes.append(f"† socat forks a process per connection: measured at {socat_idle:,} idle "
                     "connections. socat+DNS is not measured for memory (a DNS lookup per "
                     "connection at ~20/s).")
    return "\n".join(lines), notes


def _check(name, ok_parts, detail):
    if any(p is None for p in ok_parts):
        return {"name": name, "status": "N/A", "detail": detail + " (not measured)"}
    return {"name": name, "status": "PASS" if all(ok_parts) else "FAIL", "detail": detail}


def acceptance(fig, hold):
    """The issue's targets for edge-connector."""
    def get(key, c):
        return fig.get(key, {}).get(c)

    def ratio(key, c):
        e, o = get(key, "edge"), get(key, c)
        return None if e is None or not o else e / o

    def r2(x):
        return "n/a" if x is None else f"{x:.2f}×"

    checks = []
    for key, name in (("tput1", "throughput 1 stream"), ("tput4", "throughput 4 streams")):
        h, d = ratio(key, "haproxy"), ratio(key, "direct")
        checks.append(_check(f"{name} ≥1.1× HAProxy and ≥0.55× direct",
                             [None if h is None else h >= 1.1, None if d is None else d >= 0.55],
                             f"{fmt(get(key, 'edge'))} Gbit/s = {r2(h)} HAProxy, {r2(d)} direct"))
    h, s = ratio("conn_s", "haproxy"), ratio("conn_s", "socat-dns")
    checks.append(_check("conn/s ≥1.2× HAProxy and ≥100× socat+DNS",
                         [None if h is None else h >= 1.2, None if s is None else s >= 100],
                         f"{fmt(get('conn_s', 'edge'))}/s = {r2(h)} HAProxy, {r2(s)} socat+DNS"))
    for key, name, limit in (("rr_p99", "request/response p99 ≤0.9× HAProxy", 0.9),
                             ("cpu_gib", "CPU s/GiB ≤0.8× HAProxy", 0.8),
                             ("pss", "PSS per idle conn ≤0.5× HAProxy", 0.5),
                             ("sys", "system memory per idle conn ≤1.0× HAProxy", 1.0)):
        h = ratio(key, "haproxy")
        checks.append(_check(name, [None if h is None else h <= limit],
                             f"{fmt(get(key, 'edge'))} vs {fmt(get(key, 'haproxy'))} = {r2(h)}"))
    checks.append(_hold_check(hold))
    return checks


def _hold_check(hold):
    name = "100k idle connections held by one edge-connector"
    if hold is None:
        return {"name": name, "status": "N/A", "detail": "not run"}
    if hold.get("error"):
        return {"name": name, "status": "FAIL", "detail": hold["error"]}
    r = hold["result"]
    detail = (f"{r['established']:,} of {hold['conns']:,} established in {r['open_seconds']:.1f} s, "
              f"{r['still_open']:,} still open at the end; PSS {fmt(r['pss_kib_per_conn'])} KiB/conn, "
              f"system {fmt(r['obj_kib_per_conn'])} KiB/conn")
    if not hold["feasible"]:
        return {"name": name, "status": "SKIP",
                "detail": f"{hold['reason']}; scaled run at {hold['conns']:,}: "
                          f"{'held' if r['held'] else 'NOT held'} ({detail})"}
    return {"name": name, "status": "PASS" if r["held"] else "FAIL", "detail": detail}


def render(meta, fig, contenders, checks, notes, cfg, idle_conns):
    table, table_notes = markdown_table(fig, contenders, idle_conns, cfg.socat_idle_conns)
    m, v = meta["machine"], meta["versions"]
    lines = [
        f"# edge-connector benchmark ({m['date']})",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), kernel {m['kernel']}, "
        f"{m['memory_gib']} GiB RAM; everything on loopback",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- edge-connector binary: {meta['edge_binary']['path']} (built "
        f"{meta['edge_binary']['built']}, sha256 {meta['edge_binary']['sha256']}…)",
        f"- Repetitions: {meta['reps_done']} (contenders interleaved, order rotated each "
        f"repetition); iperf3 and wrk {cfg.duration} s per run; redis-benchmark -n "
        f"{cfg.redis_requests:,} -c 50 SET; connect+first byte: {cfg.firstbyte_count:,} "
        f"sequential (at most {cfg.firstbyte_seconds} s); bursts: {cfg.bursts} × "
        f"{cfg.burst_conns} simultaneous connects, 5 s timeout",
        f"- Workers: edge-connector --workers {cfg.cores}, HAProxy nbthread {cfg.cores}, "
        f"nginx worker_processes auto ({cfg.cores}); total run time {meta['run_seconds'] / 60:.1f} min",
        f"- Other load on the machine during the run: {meta['foreign_cpu_pct']:.0f}% of one core "
        "(busy CPU time not used by the bench's processes; per measurement in the JSON)",
        "",
    ]
    if table.count("\n") >= 2:  # a row beyond the header: not only the scale curve was run
        lines += [table, ""] + table_notes
        lines += ["Memory: before/after holding the idle connections, divided by the connections "
                  "held. PSS is summed over every process of the proxy (/proc/PID/smaps_rollup). "
                  "System memory is system-wide kernel objects in use (/proc/slabinfo: active "
                  "objects × object size) + AnonPages + PageTables + KernelStack: the socket, "
                  "file, epoll and pipe structures of client, proxy and backend (for direct: "
                  "client and backend only) plus every process's heap. MemTotal − MemAvailable is "
                  "shown too but is noise here: it drifts by MB per second (page-cache reclaim, "
                  "VM balloon), and new sockets mostly reuse slab pages that earlier sockets "
                  "freed, so page-based figures depend on what ran before. CPU: utime+stime of "
                  "every process of the proxy (children included, from /proc/PID/stat); CPU per "
                  "GiB covers both throughput runs.", ""]
    if fig.get("scale"):
        table, growth, levels = scale_table(fig["scale"], contenders)
        lines += ["## Scale curve", "",
                  "One proxy started per run holds idle connections in steps up to each level "
                  "(idle_open to idle_hold, as in the idle workload); at each level its PSS "
                  "growth since before the first idle connection is divided by the connections "
                  f"held, and {cfg.scale_probes:,} new connections (at most "
                  f"{cfg.scale_probe_seconds} s) are timed one after another from connect to "
                  "the backend's one-byte greeting (connlat --reply-bytes 1).", "", table, ""]
        if growth:
            lines += [f"From {levels[0]:,} to {levels[-1]:,} idle connections, the largest "
                      "level's figure over the smallest's (1.00× = flat): "
                      + "; ".join(growth) + ".", ""]
    lines += ["## Acceptance targets (edge-connector)", ""]
    lines += [f"- **{c['status']}** {c['name']}: {c['detail']}" for c in checks]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_json(path, meta, cfg, records, fig, checks, hold, notes):
    data = {"meta": meta,
            "config": {k: v for k, v in vars(cfg).items() if k != "ports"} |
                      {"port_base": cfg.ports.base},
            "records": records, "figures": fig, "acceptance": checks, "hold100k": hold,
            "notes": notes}
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
