"""Runs Debian's prometheus-apache-exporter against a server-status URL and
returns what it exported, to check that monitoring built for Apache's
mod_status reads foyer's ?auto page.

    from exporter import available, scrape, missing

    if not available():
        pytest.skip("prometheus-apache-exporter is not installed")
    m = scrape(f"http://127.0.0.1:{port}/server-status?auto")
    assert m.value("apache_up") == 1
    assert missing(m, mpm="event") == []

As a script: python3 tests/http/exporter.py URL [MPM] prints the metrics and
what is missing, and exits 1 if something is.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

EXPORTER = "prometheus-apache-exporter"

# Every metric the exporter derives from a mod_status ?auto page, with the
# labels it must carry. Processes and connections exist for async MPMs only
# (the ?auto page has those keys for event only).
EXPECTED = {
    "apache_up": [{}],
    "apache_version": [{}],
    "apache_info": [{}],
    "apache_generation": [{"type": "config"}, {"type": "mpm"}],
    "apache_load": [{"interval": "1min"}, {"interval": "5min"},
                    {"interval": "15min"}],
    "apache_accesses_total": [{}],
    "apache_sent_kilobytes_total": [{}],
    "apache_duration_ms_total": [{}],
    "apache_cpu_time_ms_total": [{"type": "user"}, {"type": "system"}],
    "apache_cpuload": [{}],
    "apache_uptime_seconds_total": [{}],
    "apache_workers": [{"state": "busy"}, {"state": "idle"}],
    "apache_scoreboard": [{"state": s} for s in (
        "idle", "startup", "read", "reply", "keepalive", "dns", "closing",
        "logging", "graceful_stop", "idle_cleanup", "open_slot")],
}
EXPECTED_ASYNC = {
    "apache_processes": [{"state": "all"}, {"state": "stopping"}],
    "apache_connections": [{"state": "total"}, {"state": "writing"},
                           {"state": "keepalive"}, {"state": "closing"}],
}

_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics(dict):
    """name -> {tuple(sorted(labels.items())): value}."""

    def value(self, name, **labels):
        """The value of name with exactly these labels, None if absent."""
        return self.get(name, {}).get(tuple(sorted(labels.items())))

    def find(self, name, **labels):
        """Values of name whose labels include these."""
        want = set(labels.items())
        return [v for k, v in self.get(name, {}).items() if want <= set(k)]


def parse(text):
    """Parses the Prometheus text exposition format into Metrics."""
    m = Metrics()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        g = _SAMPLE.match(line)
        if g is None:
            raise ValueError(f"not a sample line: {line!r}")
        name, labels, value = g.groups()
        key = tuple(sorted(
            (k, bytes(v, "utf-8").decode("unicode_escape"))
            for k, v in _LABEL.findall(labels or "")))
        m.setdefault(name, {})[key] = float(value)
    return m


def available():
    return shutil.which(EXPORTER) is not None


def _listen_flag(binary):
    # Debian's 0.12 says --telemetry.address; later upstream versions
    # --web.listen-address.
    out = subprocess.run([binary, "--help"], capture_output=True, text=True,
                         timeout=10)
    text = out.stdout + out.stderr
    if "--web.listen-address" in text:
        return "--web.listen-address"
    return "--telemetry.address"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc):
    """Stops the exporter by its pid: TERM, then KILL."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def scrape(url, binary=None, timeout=15.0, attempts=3):
    """Starts the exporter against url on a free loopback port, fetches its
    /metrics once, stops it by its pid and returns the parsed Metrics.
    Raises RuntimeError with the exporter's output if it never answers."""
    binary = binary or shutil.which(EXPORTER)
    if binary is None:
        raise RuntimeError(f"{EXPORTER} is not installed")
    flag = _listen_flag(binary)
    last = ""
    for _ in range(attempts):
        port = _free_port()
        proc = subprocess.Popen(
            [binary, f"--scrape_uri={url}", f"{flag}=127.0.0.1:{port}",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break  # the port was taken meanwhile: try another
                try:
                    with urllib.request.urlopen(
                            f"http://127.0.0.1:{port}/metrics",
                            timeout=timeout) as r:
                        return parse(r.read().decode("utf-8"))
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.05)
        finally:
            _stop(proc)
            last = proc.stderr.read().decode("utf-8", "replace")
            proc.stderr.close()
    raise RuntimeError(f"{EXPORTER} gave no metrics for {url}:\n{last}")


def missing(m, mpm="event"):
    """The expected metrics (name{labels}) the exporter did not emit."""
    expected = dict(EXPECTED)
    if mpm == "event":
        expected.update(EXPECTED_ASYNC)
    out = []
    for name, label_sets in expected.items():
        for labels in label_sets:
            if not m.find(name, **labels):
                shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
                out.append(f"{name}{{{shown}}}")
    return out


def main(argv):
    if len(argv) < 2:
        print(f"usage: {argv[0]} URL [MPM]", file=sys.stderr)
        return 2
    m = scrape(argv[1])
    for name in sorted(m):
        if name.startswith("apache_"):
            for labels, v in sorted(m[name].items()):
                shown = ",".join(f'{k}="{val}"' for k, val in labels)
                print(f"{name}{{{shown}}} {v:g}")
    gone = missing(m, argv[2] if len(argv) > 2 else "event")
    if gone:
        print("missing: " + " ".join(gone))
    up = m.value("apache_up")
    print(f"apache_up {up}")
    return 0 if up == 1 and not gone else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
