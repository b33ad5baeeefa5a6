"""report.py - summary.md, chart.png and machine.md from the measured runs."""

import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys

from common import (APACHE_BIN, AB_REQUESTS, CONCURRENCY, FPM_BIN, FPM_CHILDREN,
                    KEEP_ALIVE_TIMEOUT, MAX_KEEP_ALIVE_REQUESTS, MPM_SETTINGS,
                    PHP_VERSION, REPO, command_output, fmt_time, write)



def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def aggregate(results):
    """{(server, workload): medians and spread over the repeats}"""
    groups = {}
    for r in results:
        groups.setdefault((r["server"], r["workload"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        rps = [r.get("rps") for r in rs if r.get("rps") is not None]
        a = {"n": len(rs), "rps": median(rps),
             "rps_min": min(rps) if rps else None, "rps_max": max(rps) if rps else None}
        for k in ("p50_ms", "p99_ms", "total_pss_kb", "total_rss_kb", "server_procs",
                  "idle_kb_per_conn", "idle_held", "idle_alive", "idle_n",
                  "server_us", "fpm_us", "client_us", "idle_us"):
            a[k] = median([r.get(k) for r in rs])
        a["errors"] = sum(r.get("errors") or 0 for r in rs)
        a["notes"] = sorted({r["note"] for r in rs if r.get("note")})
        agg[key] = a
    return agg


def fmt_num(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def fmt_mib(kb):
    return "–" if not kb else f"{kb / 1024:.1f} MiB"


def cpu_cell(a):
    """server / fpm / client / idle, in µs per request."""
    if a.get("server_us") is None and a.get("client_us") is None:
        return "–"
    parts = [fmt_num(a.get("server_us")), fmt_num(a.get("fpm_us")) if a.get("fpm_us") else "–",
             fmt_num(a.get("client_us")), fmt_num(a.get("idle_us"))]
    return " / ".join(parts)


def spread(a):
    if not a["rps"] or a["rps_min"] is None or a["n"] < 2:
        return "–"
    return f"±{(a['rps_max'] - a['rps_min']) / a['rps'] / 2 * 100:.1f}%"


def write_summary(path, run, servers, workloads, agg, elapsed, bugs):
    present = [s for s in servers if any(k[0] == s.name for k in agg)]
    lines = ["# foyer benchmark", "",
             f"Run of {datetime.datetime.now():%Y-%m-%d %H:%M}, {fmt_time(elapsed)}; "
             f"{run.args.repeats} interleaved repeats of {run.args.duration:g} s "
             f"(wrk), medians shown. Machine and versions: machine.md; every run: runs.tsv.",
             "", f"Command: `{run.args.command_line}`", ""]

    lines += ["## Summary", "",
              "| MPM | Req/sec | Memory | Keep-alive |", "|---|---|---|---|"]
    for s in present:
        st = agg.get((s.name, "s1k-ka"))
        ph = agg.get((s.name, "php-ka"))
        idle = agg.get((s.name, "idle"))
        rps = []
        if st and st["rps"]:
            rps.append(f"static 1 KiB {fmt_num(st['rps'])}")
        if ph and ph["rps"]:
            rps.append(f"hello.php {fmt_num(ph['rps'])}")
        mem = []
        if st and st["total_pss_kb"]:
            mem.append(f"{fmt_mib(st['total_pss_kb'])} static")
        if ph and ph["total_pss_kb"]:
            mem.append(f"{fmt_mib(ph['total_pss_kb'])} PHP" +
                       (" (with php-fpm)" if s.uses_fpm() else ""))
        ka = "–"
        if idle and idle["idle_n"]:
            ka = f"{fmt_num(idle['idle_held'])}/{fmt_num(idle['idle_n'])} idle held"
            if idle["idle_kb_per_conn"] is not None:
                # Below the noise of PSS sampling (or preallocated, as
                # nginx's worker_connections) the growth reads as ~0.
                kib = idle["idle_kb_per_conn"]
                ka += f", {kib:.1f} KiB each" if kib >= 0.05 else ", ~0 KiB each"
            if idle["p99_ms"] is not None and idle["rps"]:
                ka += f", 2nd client p99 {idle['p99_ms']:.2f} ms"
            else:
                ka += ", 2nd client starved"
        lines.append(f"| {s.label} | {'; '.join(rps) or '–'} | {'; '.join(mem) or '–'} | {ka} |")
    lines += ["", "Memory is PSS summed over every process of the server (and of php-fpm "
              "for PHP through FPM), sampled right after the run.", ""]

    lines += ["## Details", ""]
    for w in workloads:
        rows = [s for s in present if (s.name, w.name) in agg]
        if not rows:
            continue
        peers = [s for s in rows if s.peer]
        head = ["server", "req/s", "spread", "p50 ms", "p99 ms", "errors", "PSS", "RSS", "procs",
                "CPU µs/req: server / fpm / client / idle"]
        if w.tool == "idle":
            head = ["server", "held", "alive after", "KiB/conn", "2nd client req/s",
                    "p50 ms", "p99 ms", "errors", "PSS", "procs"]
        head += [f"÷ {p.name}" for p in peers]
        lines += [f"### {w.name}: {w.desc}", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        for s in rows:
            a = agg[(s.name, w.name)]
            if w.tool == "idle":
                cells = [s.name, f"{fmt_num(a['idle_held'])}/{fmt_num(a['idle_n'])}",
                         fmt_num(a["idle_alive"]), fmt_num(a["idle_kb_per_conn"], 2),
                         fmt_num(a["rps"]), fmt_num(a["p50_ms"], 2), fmt_num(a["p99_ms"], 2),
                         str(a["errors"]), fmt_mib(a["total_pss_kb"]), fmt_num(a["server_procs"])]
            else:
                cells = [s.name, fmt_num(a["rps"]), spread(a), fmt_num(a["p50_ms"], 2),
                         fmt_num(a["p99_ms"], 2), str(a["errors"]), fmt_mib(a["total_pss_kb"]),
                         fmt_mib(a["total_rss_kb"]), fmt_num(a["server_procs"]), cpu_cell(a)]
            for p in peers:
                b = agg[(p.name, w.name)]
                if p is s or not a["rps"] or not b["rps"]:
                    cells.append("–" if p is not s else "1")
                else:
                    cells.append(f"{a['rps'] / b['rps']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        notes = [(s.name, n) for s in rows for n in agg[(s.name, w.name)]["notes"]]
        if notes:
            lines.append("")
            lines += [f"- {name}: {n}" for name, n in notes]
        lines.append("")
    lines += ["Ratios are req/s of the row's server divided by the column's peer "
              "(above 1: the row is faster).", "",
              "CPU µs/req: CPU time per request of the server's processes, then php-fpm's "
              "(PHP through FPM), then the load client's, and last the time the machine's "
              "CPUs sat idle during the run, all from /proc around the client's run. With "
              "client and server on the same cores, req/s is at most the CPUs' time divided "
              "by the sum of the four.", ""]
    if bugs:
        lines += ["## foyer problems seen", ""] + [f"- {b}" for b in bugs] + [""]
    if run.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in run.notes] + [""]
    write(path, "\n".join(lines))


def write_chart(out, servers, workloads, agg):
    if not shutil.which("gnuplot"):
        return "gnuplot is not installed, no chart"
    names = [s.name for s in servers if any(k[0] == s.name for k in agg)]
    wl = [w.name for w in workloads if w.tool != "idle" and any(k[1] == w.name for k in agg)]
    if not names or not wl:
        return "nothing to chart"
    for key, fname in (("rps", "chart-rps.dat"), ("total_pss_kb", "chart-mem.dat")):
        rows = ["workload " + " ".join(names)]
        for w in wl:
            vals = []
            for n in names:
                a = agg.get((n, w))
                v = a.get(key) if a else None
                if v and key == "total_pss_kb":
                    v = v / 1024.0
                vals.append(f"{v:.2f}" if v else "NaN")
            rows.append(w + " " + " ".join(vals))
        write(os.path.join(out, fname), "\n".join(rows) + "\n")
    ncol = len(names) + 1
    # gnuplot's default cycle has 8 colours; give every server its own.
    colours = ["#d62728", "#ff7f0e", "#e6b800", "#8c564b", "#e377c2", "#17becf",
               "#1f77b4", "#2ca02c", "#9467bd", "#7f7f7f", "#000000", "#bcbd22",
               "#aec7e8", "#98df8a", "#c5b0d5", "#ff9896"]
    palette = " ".join(colours[i % len(colours)] for i in range(len(names)))
    gp = f"""# gnuplot script written by bench/run; run it in this directory
set terminal pngcairo size 1600,1100 font ",10"
set output "chart.png"
set multiplot layout 2,1
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top
set datafile missing "NaN"
colours = "{palette}"
set title "Requests per second (median; log scale)"
set logscale y
set ylabel "req/s"
plot for [i=2:{ncol}] "chart-rps.dat" using i:xtic(1) title columnheader(i) lc rgb word(colours, i-1)
set title "Memory: PSS of the server (+ php-fpm for FPM PHP), MiB"
unset logscale y
set ylabel "MiB"
plot for [i=2:{ncol}] "chart-mem.dat" using i:xtic(1) title columnheader(i) lc rgb word(colours, i-1)
unset multiplot
"""
    write(os.path.join(out, "chart.gp"), gp)
    p = subprocess.run(["gnuplot", "chart.gp"], cwd=out, capture_output=True, text=True)
    if p.returncode != 0:
        return f"gnuplot failed: {p.stderr.strip()[-300:]}"
    return None


def write_machine(path, run):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            cpu = m.group(1) if m else "?"
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s+(\d+)", f.read())
            mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    except OSError:
        debian = "?"

    def first(cmd):
        out = command_output(cmd)
        return out.splitlines()[0] if out else "?"

    def version(tool, cmd):
        return first(cmd) if run.tools.get(tool) else "not installed"
    foyer_v = command_output([run.args.foyer, "-V"]) if run.tools.get("foyer") else "not built"
    git = command_output(["git", "-C", REPO, "log", "-1", "--format=%h %s"])
    dirty = command_output(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no",
                            "--", "proxy", "conf", "fcgi", "mpm", "php", "include"])
    if dirty and not dirty.startswith(("(", "fatal")):
        git += ", built with uncommitted changes in the tree"
    lines = ["# Machine", "",
             f"- CPU: {cpu}", f"- cores: {os.cpu_count()}", f"- memory: {mem}",
             f"- kernel: {' '.join(os.uname()[i] for i in (0, 2, 3, 4))}",
             f"- Debian: {debian}",
             f"- pinning: {'server on CPUs ' + str(sorted(run.server_cpus)) + ', clients on ' + str(sorted(run.client_cpus)) if run.server_cpus else 'off'}",
             "", "## Versions", "",
             f"- foyer: {foyer_v.splitlines()[0] if foyer_v else '?'} (git {git})",
             f"- nginx: {version('nginx', ['nginx', '-v'])}",
             f"- apache2: {version('apache2', [APACHE_BIN, '-v'])}",
             f"- php-fpm: {version('php-fpm', [FPM_BIN, '-v'])}",
             f"- mod_php: {'libphp' + PHP_VERSION + '.so' if run.tools.get('mod_php') else 'not installed'}",
             f"- wrk: {version('wrk', ['wrk', '-v'])}",
             f"- ab: {first(['ab', '-V']) if run.tools.get('ab') else 'not installed'}",
             f"- gnuplot: {version('gnuplot', ['gnuplot', '--version'])}",
             f"- python: {sys.version.split()[0]}",
             "", "## Settings", "",
             f"- php-fpm: pm = static, pm.max_children = {FPM_CHILDREN}, opcache on; "
             "the same pool for every PHP server",
             f"- keep-alive: timeout {KEEP_ALIVE_TIMEOUT} s, "
             f"{MAX_KEEP_ALIVE_REQUESTS} requests per connection, access logs off, "
             "sendfile on, everywhere",
             "- MPM settings (Apache and foyer): Debian's defaults: " +
             "; ".join(f"{m}: " + ", ".join(f"{k} {v}" for k, v in kv)
                       for m, kv in MPM_SETTINGS.items()),
             f"- clients: wrk -t {run.wrk_threads} -c {CONCURRENCY} --timeout 5s, "
             f"ab -n {AB_REQUESTS} -c {CONCURRENCY}, idle holder N = {run.args.idle_n}",
             ""]
    write(path, "\n".join(lines))
