"""/server-status under each MPM: Apache's ?auto keys in Apache's order and
formats, the scoreboard's length, counters that move, ?json, the HTML page,
the allow list, and the real prometheus-apache-exporter reading ?auto."""

import re

import pytest

from exporter import available, missing, scrape
from foyer_http import MPMS, SERVER_VERSION
from mpm_util import fetch, status, status_auto, status_json, wait_for

# mod_status's ?auto keys in the order status_handler prints them
# (reference §6.1); the async block is event's only.
APACHE_ORDER = [
    "ServerVersion", "ServerMPM", "Server Built", "CurrentTime",
    "RestartTime", "ParentServerConfigGeneration",
    "ParentServerMPMGeneration", "ServerUptimeSeconds", "ServerUptime",
    "Load1", "Load5", "Load15", "Total Accesses", "Total kBytes",
    "Total Duration", "CPUUser", "CPUSystem", "CPUChildrenUser",
    "CPUChildrenSystem", "CPULoad", "Uptime", "ReqPerSec", "BytesPerSec",
    "BytesPerReq", "DurationPerReq", "BusyWorkers", "GracefulWorkers",
    "IdleWorkers", "Processes", "Stopping", "ConnsTotal",
    "ConnsAsyncWaitIO", "ConnsAsyncWriting", "ConnsAsyncKeepAlive",
    "ConnsAsyncClosing", "Scoreboard",
]
# present only when their divisor is not zero (Apache's rules)
OPTIONAL = {"CPULoad", "ReqPerSec", "BytesPerSec", "BytesPerReq",
            "DurationPerReq"}
ASYNC = {"Processes", "Stopping", "ConnsTotal", "ConnsAsyncWaitIO",
         "ConnsAsyncWriting", "ConnsAsyncKeepAlive", "ConnsAsyncClosing"}

TIME = re.compile(r"^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|"
                  r"Sunday), \d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2} \S+$")
INT = re.compile(r"^\d+$")
FIXED2 = re.compile(r"^\d+\.\d{2}$")
# APR's %g: no leading zero, no trailing zeros, E-style with a signed
# unpadded exponent
APR_G = re.compile(r"^(\d+|\d*\.\d*[1-9]|\d\.\d*e[+-][1-9]\d*)$")
UPTIME = re.compile(r"^( \d+ (day|hour|minute|second)s?)*$")

# small numbers: worker/event 3 x 4 slots but MaxRequestWorkers 8
MPM = {"prefork": {"StartServers": 2, "MinSpareServers": 1,
                   "MaxSpareServers": 3, "MaxRequestWorkers": 5},
       "worker": {"StartServers": 2, "ServerLimit": 3, "ThreadsPerChild": 4,
                  "MaxRequestWorkers": 8, "MinSpareThreads": 1,
                  "MaxSpareThreads": 8},
       "event": {"StartServers": 2, "ServerLimit": 3, "ThreadsPerChild": 4,
                 "MaxRequestWorkers": 8, "MinSpareThreads": 1,
                 "MaxSpareThreads": 8}}
# Apache's rule: every slot of ServerLimit x ThreadLimit except dead ones
# of processes >= MAX_DAEMONS or threads >= ThreadsPerChild. MAX_DAEMONS is
# MaxRequestWorkers for prefork (5), MaxRequestWorkers / ThreadsPerChild for
# worker (2 x 4), and ServerLimit for event, whose stopping processes may
# take every record (3 x 4).
BOARD_LENGTH = {"prefork": 5, "worker": 8, "event": 12}


@pytest.fixture(scope="module", params=MPMS)
def srv(request, make_module_mpm_server):
    mpm = request.param
    return make_module_mpm_server(mode=mpm, mpm=MPM[mpm],
                              files={"a.txt": "a\n", "big.bin": b"b" * 300000})


def test_auto_keys_in_apache_order(srv):
    first, pairs = status_auto(srv)
    assert first == "localhost" or first == "127.0.0.1", first
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    assert keys == [k for k in APACHE_ORDER if k in keys], keys
    want = set(APACHE_ORDER) - OPTIONAL
    if srv.mode != "event":
        want -= ASYNC
        assert not ASYNC & set(keys), keys
    assert want <= set(keys), want - set(keys)


def test_auto_formats(srv):
    fetch(srv, "/a.txt")  # so that the per-request rates exist
    st = status(srv)
    assert st["ServerVersion"] == SERVER_VERSION
    assert st["ServerMPM"] == srv.mode
    assert TIME.match(st["CurrentTime"]), st["CurrentTime"]
    assert TIME.match(st["RestartTime"]), st["RestartTime"]
    assert UPTIME.match(" " + st["ServerUptime"] if st["ServerUptime"]
                        else ""), st["ServerUptime"]
    for k in ("Load1", "Load5", "Load15"):
        assert FIXED2.match(st[k]), (k, st[k])
    for k in ("ParentServerConfigGeneration", "ParentServerMPMGeneration",
              "ServerUptimeSeconds", "Total Accesses", "Total kBytes",
              "Total Duration", "Uptime", "BusyWorkers", "GracefulWorkers",
              "IdleWorkers"):
        assert INT.match(st[k]), (k, st[k])
    for k in ("CPUUser", "CPUSystem", "CPUChildrenUser", "CPUChildrenSystem",
              "CPULoad", "ReqPerSec", "BytesPerSec", "BytesPerReq",
              "DurationPerReq"):
        if k in st:
            assert APR_G.match(st[k]), (k, st[k])
    if srv.mode == "event":
        for k in ASYNC:
            assert INT.match(st[k]), (k, st[k])
    assert re.fullmatch(r"[_SRWKDCLGI.]+", st["Scoreboard"]), st["Scoreboard"]


def test_scoreboard_length(srv):
    board = status(srv)["Scoreboard"]
    assert len(board) == BOARD_LENGTH[srv.mode], board
    st = status(srv)
    live = sum(1 for ch in st["Scoreboard"] if ch != ".")
    busy_idle = int(st["BusyWorkers"]) + int(st["IdleWorkers"])
    assert busy_idle <= live, st


def test_counters_move(srv):
    before = status(srv)
    for _ in range(5):
        assert fetch(srv, "/a.txt").body == b"a\n"
    assert len(fetch(srv, "/big.bin").body) == 300000
    wait_for(lambda: int(status(srv)["Total Accesses"])
             >= int(before["Total Accesses"]) + 6, "the accesses", srv)
    after = status(srv)
    assert int(after["Total kBytes"]) >= int(before["Total kBytes"]) + 290
    assert int(after["Uptime"]) >= int(before["Uptime"])


def test_json_parses(srv):
    j = status_json(srv)
    assert j["server"]["mpm"] == srv.mode
    assert j["server"]["version"] == SERVER_VERSION
    assert len(j["scoreboard"]) == BOARD_LENGTH[srv.mode]
    pids = {p["pid"] for p in j["processes"]}
    assert pids & set(srv.children()), (pids, srv.children())
    assert j["workers"]["busy"] >= 1  # this request


def test_html_page(srv):
    r = fetch(srv, "/server-status")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/html")
    page = r.body.decode("latin-1")
    assert f"<dt>Server MPM: {srv.mode}</dt>" in page
    m = re.search(r"<pre>([^<]*)</pre>", page)
    assert m, page
    assert len(m.group(1).replace("\n", "")) == BOARD_LENGTH[srv.mode]
    assert "Scoreboard Key:" in page
    assert "<th>Srv</th><th>PID</th><th>Acc</th><th>M</th>" in page
    assert re.search(r"<tr><td><b>\d+-\d+</b></td><td>\d+</td>", page), page


def test_exporter_reads_every_metric(srv):
    if not available():
        pytest.fail("prometheus-apache-exporter is not installed: "
                    "scripts/deps.sh test installs it")
    fetch(srv, "/a.txt")
    m = scrape(srv.url("/server-status?auto"))
    assert m.value("apache_up") == 1
    assert missing(m, mpm=srv.mode) == []
    assert m.find("apache_info", mpm=srv.mode)
    assert m.value("apache_accesses_total") >= 1


@pytest.mark.parametrize("mpm", MPMS)
def test_one_process_names_the_configured_mpm(make_mpm_server, mpm):
    # httpd -X keeps its MPM's name on the status page; so does foyer -X.
    srv = make_mpm_server(mode="single", server={"mpm": mpm})
    st = status(srv)
    assert st["ServerMPM"] == mpm
    assert st["Processes"] if mpm == "event" else "Processes" not in st


@pytest.mark.parametrize("mpm", MPMS)
def test_client_outside_allow_gets_403(make_mpm_server, mpm):
    srv = make_mpm_server(mode=mpm, extra="\n[status]\nallow = 127.0.0.1\n")
    assert fetch(srv, "/server-status?auto").status == 200
    r = fetch(srv, "/server-status?auto", source="127.0.0.2")
    assert r.status == 403
    assert "Scoreboard" not in r.body.decode("latin-1")
