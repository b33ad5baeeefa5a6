"""The MPMs on the command line: foyer -t prints Apache's warnings for the
selected MPM, refuses another MPM's directives and an unknown MPM, -V names
the configured MPM, user = root is refused, and -k drives a running master
through its pid file."""

import os

import pytest

from foyer_http import MPMS, STOP_TIMEOUT, run_foyer
from mpm_util import status, wait_for


def write(tmp_path, mpm, section="", server_extra=""):
    (tmp_path / "www").mkdir(exist_ok=True)
    path = tmp_path / "foyer.ini"
    path.write_text(
        "[server]\n"
        "listen = 127.0.0.1:8080\n"
        f"error_log = {tmp_path}/error.log\n"
        f"pid_file = {tmp_path}/foyer.pid\n"
        f"mpm = {mpm}\n"
        f"{server_extra}"
        "\n"
        "[site default]\n"
        f"document_root = {tmp_path}/www\n"
        "\n"
        f"[{mpm}]\n"
        f"{section}"
    )
    return path


# (mpm, the section's lines, the exact warnings in Apache's order)
WARNINGS = [
    ("prefork", "StartServers = 0\nMinSpareServers = 0\nMaxRequestWorkers = 0\n", [
        "WARNING: MaxRequestWorkers of 0 not allowed, increasing to 1.",
        "WARNING: StartServers of 0 not allowed, increasing to 1.",
        "WARNING: MinSpareServers of 0 not allowed, increasing to 1 to avoid "
        "almost certain server failure. Please read the documentation.",
    ]),
    ("prefork", "ServerLimit = 300000\n", [
        "WARNING: ServerLimit of 300000 exceeds compile-time limit of 200000 "
        "servers, decreasing to 200000.",
    ]),
    ("worker", "ThreadsPerChild = 100\n", [
        "WARNING: ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, "
        "decreasing to 64. To increase, please see the ThreadLimit directive.",
        "WARNING: MaxRequestWorkers of 400 is not an integer multiple of "
        "ThreadsPerChild of 64, decreasing to nearest multiple 384, for a "
        "maximum of 6 servers.",
    ]),
    ("worker", "ServerLimit = 30000\nThreadLimit = 0\n", [
        "WARNING: ServerLimit of 30000 exceeds compile-time limit of 20000 "
        "servers, decreasing to 20000.",
        "WARNING: ThreadLimit of 0 not allowed, increasing to 1.",
        "WARNING: ThreadsPerChild of 25 exceeds ThreadLimit of 1 threads, "
        "decreasing to 1. To increase, please see the ThreadLimit directive.",
    ]),
    ("event", "ServerLimit = 2\n", [
        "WARNING: MaxRequestWorkers of 400 would require 16 servers and would "
        "exceed ServerLimit of 2, decreasing to 50. To increase, please see "
        "the ServerLimit directive.",
    ]),
    ("event", "MaxRequestWorkers = 10\nMinSpareThreads = 0\n", [
        "WARNING: MaxRequestWorkers of 10 is less than ThreadsPerChild of 25, "
        "increasing to 25. MaxRequestWorkers must be at least as large as the "
        "number of threads in a single server.",
        "WARNING: MinSpareThreads of 0 not allowed, increasing to 1 to avoid "
        "almost certain server failure. Please read the documentation.",
    ]),
]


@pytest.mark.parametrize("mpm,section,warnings", WARNINGS,
                         ids=[f"{w[0]}{i}" for i, w in enumerate(WARNINGS)])
def test_check_prints_warnings_then_syntax_ok(tmp_path, mpm, section, warnings):
    r = run_foyer("-t", "-f", str(write(tmp_path, mpm, section)))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "\n".join(warnings + ["Syntax OK"]) + "\n"


@pytest.mark.parametrize("mpm,key,owners", [
    ("prefork", "ThreadsPerChild = 25", "[worker] and [event]"),
    ("prefork", "AsyncRequestWorkerFactor = 2", "[event]"),
    ("worker", "MaxSpareServers = 3", "[prefork]"),
    ("worker", "AsyncRequestWorkerFactor = 2", "[event]"),
    ("event", "MinSpareServers = 3", "[prefork]"),
])
def test_other_mpm_directive_refused_with_file_and_line(tmp_path, mpm, key,
                                                        owners):
    path = write(tmp_path, mpm, "StartServers = 2\n" + key + "\n")
    r = run_foyer("-t", "-f", str(path))
    assert r.returncode == 1
    name = key.split(" = ")[0]
    article = "an" if mpm == "event" else "a"
    assert (f"{path}:12: {name} is not {article} {mpm} directive (it belongs "
            f"in {owners})") in r.stderr, r.stderr
    assert "Syntax OK" not in r.stderr


def test_unknown_mpm_lists_the_three(tmp_path):
    path = tmp_path / "foyer.ini"
    (tmp_path / "www").mkdir()
    path.write_text(f"[server]\nlisten = 127.0.0.1:8080\nmpm = turbo\n"
                    f"[site default]\ndocument_root = {tmp_path}/www\n")
    r = run_foyer("-t", "-f", str(path))
    assert r.returncode == 1
    assert f"{path}:3: mpm = 'turbo': expected prefork, worker or event" \
        in r.stderr, r.stderr


@pytest.mark.parametrize("mpm,threaded", [
    ("prefork", "no"),
    ("worker", "yes (fixed thread count)"),
    ("event", "yes (fixed thread count)"),
])
def test_version_names_configured_mpm(tmp_path, mpm, threaded):
    r = run_foyer("-V", "-f", str(write(tmp_path, mpm)))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    i = lines.index(f"Server MPM:     {mpm}")
    assert lines[i + 1:i + 3] == [
        f"  threaded:     {threaded}",
        "    forked:     yes (variable process count)",
    ], r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="children run as the caller "
                    "when not started as root: nothing to refuse")
@pytest.mark.parametrize("mpm", MPMS)
def test_user_root_refused(tmp_path, mpm):
    path = write(tmp_path, mpm, server_extra="user = root\ngroup = root\n")
    r = run_foyer("-D", "FOREGROUND", "-f", str(path), timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    log = (tmp_path / "error.log").read_text()
    assert ("refusing to run children as root (user = root): set user to "
            "an unprivileged account such as www-data") in log, log
    assert not (tmp_path / "foyer.pid").exists()


# -k through the pid file, against a master started by the fixture.

def k(srv, cmd):
    return run_foyer("-k", cmd, "-f", str(srv.config_path))


@pytest.mark.parametrize("mpm", MPMS)
def test_k_start_when_running(make_mpm_server, mpm):
    srv = make_mpm_server(mode=mpm)
    r = k(srv, "start")
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"foyer (pid {srv.pid}) already running\n"
    assert srv.proc.poll() is None


@pytest.mark.parametrize("mpm", MPMS)
def test_k_stop(make_mpm_server, mpm):
    srv = make_mpm_server(mode=mpm)
    kids = srv.children()
    assert kids
    r = k(srv, "stop")
    assert r.returncode == 0, r.stderr
    assert srv.proc.wait(STOP_TIMEOUT) == 0
    assert srv.wait_children_gone() == []
    assert not srv.pid_file.exists()
    assert "caught SIGTERM, shutting down" in srv.error_log()
    srv.stop()  # checks stderr and the exit code
    r = k(srv, "stop")
    assert r.stdout + r.stderr == "foyer (no pid file) not running\n"


@pytest.mark.parametrize("cmd,text", [
    ("graceful", "SIGUSR1 received.  Doing graceful restart"),
    ("restart", "SIGHUP received.  Attempting to restart"),
])
@pytest.mark.parametrize("mpm", MPMS)
def test_k_restarts(make_mpm_server, mpm, cmd, text):
    srv = make_mpm_server(mode=mpm, files={"a.txt": "a\n"})
    before = srv.children()
    gen = int(status(srv)["ParentServerMPMGeneration"])
    r = k(srv, cmd)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: text in srv.error_log(), f"'{text}'", srv)

    def generation():
        try:
            return int(status(srv)["ParentServerMPMGeneration"])
        except EOFError:
            # A hard restart (HUP) stops the old children at once, as
            # Apache's does: a status request one of them had just
            # accepted is cut. Only the graceful restart promises that
            # nothing in flight is lost (test_mpm_restart.py).
            if cmd == "restart":
                return None
            raise
    wait_for(lambda: generation() == gen + 1, "the generation to go up", srv)
    wait_for(lambda: not set(before) & set(srv.children()),
             "the old children to exit", srv)
    wait_for(lambda: len(srv.children()) >= 1, "new children", srv)
    assert srv.proc.poll() is None
    r = srv.get("/a.txt")
    assert (r.status, r.body) == (200, b"a\n")
