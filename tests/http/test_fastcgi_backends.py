"""PHP through FastCGI, the backend side: TCP backends, kept connections
and their idle timeout, large and slowly read responses (back-pressure
and bounded memory), dead backends (502) and failover, max_connections
with its queue (503 on queue_timeout), read_timeout (504), clients that
leave while PHP works, and the connection slots of a child killed while
it held them. Under -X and each MPM (the last one under each MPM only).

One foyer per mode serves one site per case, chosen by Host:
  default         pool php      main FPM pool, no kept connections
  ka.test         pool kept     keep FPM pool, keep_alive = 1, keep_alive_timeout = 1
  tcp.test        pool tcp      FPM on 127.0.0.1:PORT, keep_alive = 1
  dead.test       pool dead     a socket nobody listens on
  failover.test   pool failover the dead socket, then main
  limited.test    pool limited  slow FPM pool, max_connections = 1
  tiny.test       pool tiny     slow, max_connections = 1, queue_timeout = 1
  timeout.test    pool timeout  slow, read_timeout = 1, keep_alive = 1
"""

import hashlib
import os
import re
import signal
import threading

import pytest

from foyer_http import MPMS, poll, stale_epoll_items
from php_fpm import fpm  # noqa: F401 (the module's php-fpm fixture)
from php_fpm import (BIG_LINE, big_line, json_body, read_all, split_response,
                     vm_rss_kb, wait_stable)
from mpm_util import wait_for


@pytest.fixture(scope="module")
def php(make_module_server, fpm):  # noqa: F811
    hosts = {
        "ka": "kept", "tcp": "tcp", "dead": "dead", "failover": "failover",
        "limited": "limited", "tiny": "tiny", "timeout": "timeout",
    }
    sites = [("default", fpm.site("php"))]
    sites += [(name, fpm.site(pool, server_name=f"{name}.test"))
              for name, pool in hosts.items()]
    extra = (
        fpm.pool("php", "main")
        + fpm.pool("kept", "keep", keep_alive=1, keep_alive_timeout=1)
        + fpm.pool("tcp", "tcp", keep_alive=1)
        + fpm.pool("dead", "dead")
        + fpm.pool("failover", ["dead", "main"])
        + fpm.pool("limited", "slow", max_connections=1, queue_timeout=30)
        + fpm.pool("tiny", "slow", max_connections=1, queue_timeout=1)
        + fpm.pool("timeout", "slow", read_timeout=1, keep_alive=1)
    )
    return make_module_server(sites=sites, extra=extra)


def get(srv, path, host="localhost", timeout=10):
    with srv.connect(timeout) as c:
        c.send(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
               "Connection: close\r\n\r\n")
        return c.read_response()


def foyer_rss_kb(srv):
    """VmRSS of every foyer process (the master and its children)."""
    return sum(vm_rss_kb(p) for p in [srv.pid] + srv.children())


def expected_digest(lines):
    h = hashlib.sha256()
    for i in range(lines):
        h.update(big_line(i))
    return h.hexdigest()


# --- backends --------------------------------------------------------------


def test_tcp_backend(php, fpm):  # noqa: F811
    with php.connect() as c:
        for i in range(3):
            c.send(f"GET /env.php/p?i={i} HTTP/1.1\r\nHost: tcp.test\r\n\r\n")
            s = json_body(c.read_response())["server"]
            assert s["PATH_INFO"] == "/p"
            assert s["QUERY_STRING"] == f"i={i}"
            assert s["SCRIPT_FILENAME"] == str(fpm.www / "env.php")


def test_dead_backend_is_502_with_the_backend_named(php, fpm):  # noqa: F811
    r = get(php, "/env.php", host="dead.test")
    assert r.status == 502
    assert php.wait_error_log(str(fpm.dead_sock)), php.error_log()
    lines = [l for l in php.error_log().splitlines()
             if str(fpm.dead_sock) in l and "pool dead" in l]
    assert any('"GET /env.php HTTP/1.1"' in l for l in lines), lines
    # and the server goes on
    assert get(php, "/env.php").status == 200


def test_failover_to_the_next_backend(php, fpm):  # noqa: F811
    for i in range(4):
        r = get(php, f"/env.php?try={i}", host="failover.test")
        assert json_body(r)["get"] == {"try": str(i)}
    assert php.wait_error_log(str(fpm.dead_sock)), php.error_log()


# --- kept connections --------------------------------------------------------


def test_kept_connection_is_reused(php):
    conns = []
    with php.connect() as c:
        for i in range(5):
            c.send(f"GET /env.php?k={i} HTTP/1.1\r\nHost: ka.test\r\n\r\n")
            conns.append(json_body(c.read_response())["fcgi_conn"])
    assert all(conns) and len(set(conns)) <= 2, conns


# --- large responses and back-pressure -------------------------------------


def test_large_response_is_intact(php):
    lines = 20 * 1024  # 20 MB
    with php.connect(30) as c:
        c.send(f"GET /big.php?lines={lines} HTTP/1.1\r\nHost: localhost\r\n"
               "Connection: close\r\n\r\n")
        status, headers, body = split_response(read_all(c))
    assert status == 200
    assert headers["transfer-encoding"] == "chunked"
    assert headers["content-type"] == "application/octet-stream"
    assert len(body) == lines * BIG_LINE
    assert hashlib.sha256(body).hexdigest() == expected_digest(lines)


def test_slow_client_keeps_foyer_memory_bounded(php, fpm):  # noqa: F811
    lines = 128 * 1024  # 128 MB
    progress = fpm.dir / "tmp" / f"progress-{php.mode}"
    before = foyer_rss_kb(php)
    with php.connect(60) as c:
        c.send(f"GET /big.php?lines={lines}&progress={progress} HTTP/1.0\r\n"
               "Host: localhost\r\n\r\n")

        def written():
            try:
                return int(progress.read_text() or 0)
            except (FileNotFoundError, ValueError):
                return 0

        assert poll(written, 10), "big.php did not start"
        # the client reads nothing: PHP must stall once the buffers are full
        stalled_at = wait_stable(written, quiet=0.5, timeout=60)
        during = foyer_rss_kb(php)
        assert stalled_at < lines, "foyer read the whole response ahead"
        assert during - before < 64 * 1024, (before, during)
        data = read_all(c)
    status, headers, body = split_response(data)
    assert status == 200
    assert len(body) == lines * BIG_LINE
    h = hashlib.sha256(body).hexdigest()
    del data, body
    assert h == expected_digest(lines)


# --- clients that leave ----------------------------------------------------


def test_client_disconnect_during_slow_script(php, fpm):  # noqa: F811
    mark = fpm.dir / "tmp" / f"started-{php.mode}"
    for host in ("localhost", "ka.test"):
        if mark.exists():
            mark.unlink()
        with php.connect() as c:
            c.send(f"GET /slow.php?ms=1500&mark={mark} HTTP/1.1\r\n"
                   f"Host: {host}\r\n\r\n")
            assert poll(mark.exists, 10), "slow.php did not start"
        # the client is gone while PHP sleeps; the next requests are fine
        for i in range(3):
            r = get(php, f"/env.php?after={i}", host=host)
            assert json_body(r)["get"] == {"after": str(i)}


# --- max_connections, queue_timeout, read_timeout ---------------------------


def concurrently(fns):
    results = [None] * len(fns)

    def run(i):
        try:
            results[i] = fns[i]()
        except Exception as e:  # reported by the assertion below
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_max_connections_queues_requests(php):
    n = 3
    results = concurrently([
        (lambda i=i: get(php, f"/slow.php?ms=300&q={i}", host="limited.test",
                         timeout=30))
        for i in range(n)])
    spans = []
    for r in results:
        assert not isinstance(r, Exception), results
        assert r.status == 200, r
        start, end, _pid = r.body.split()
        spans.append((float(start), float(end)))
    # max_connections = 1: the scripts ran one after the other
    spans.sort()
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s2 >= e1, spans


def test_max_connections_serves_every_client_in_turn(make_server, fpm):  # noqa: F811,E501
    """Eight keep-alive clients share two FPM connections (in two children
    under the MPMs, every client's connection served from the start).
    Waiting requests are served oldest first across threads and children,
    so no client is starved while the others take turns: each gets a fair
    share of the requests served. A connection that ends goes to the
    oldest waiting request wherever it is, so the two connections serve
    every request: FPM sees no new ones. A connection sent to another
    child leaves no item behind in the sender's epoll set."""
    php = make_server(
        sites=[("default", fpm.site("fair"))],
        extra=fpm.pool("fair", "slow", max_connections=2, keep_alive=2),
        mpm={"prefork": {"StartServers": 8, "MinSpareServers": 8,
                         "MaxSpareServers": 8},
             "worker": {"StartServers": 2},
             "event": {"StartServers": 2}}.get(fpm_mode(make_server)))
    clients, total = 8, 160
    lock = threading.Lock()
    served = [0]
    done = threading.Event()
    seen = set()

    def client():
        mine = 0
        with php.connect(30) as c:
            while True:
                with lock:
                    if served[0] >= total:
                        return mine
                c.send("GET /slow.php?ms=5 HTTP/1.1\r\n"
                       "Host: localhost\r\n\r\n")
                r = c.read_response()
                assert r.status == 200, r
                mine += 1
                with lock:
                    served[0] += 1

    def watch():
        # Each FPM connection, by its socket's inode, as often as it can
        # look: one that is closed and opened again shows a new inode.
        while not done.is_set():
            seen.update(fpm.connection_inodes("slow"))
            done.wait(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        counts = concurrently([client] * clients)
    finally:
        done.set()
        watcher.join()
    for n in counts:
        assert not isinstance(n, Exception), counts
    mean = sum(counts) / clients
    assert min(counts) >= mean / 4, counts
    # Two, unless a doorbell was full once or twice (the connection is
    # then closed and a new one opened); without handing over, about one
    # per request.
    assert 1 <= len(seen) <= 4, sorted(seen)
    # The two connections are still kept (keep_alive_timeout is 30 s):
    # an item left for one would be reported on every wait of its loop.
    for pid in php.children() or [php.pid]:
        assert stale_epoll_items(pid) == [], pid


def fpm_mode(factory):
    return factory.mode


def test_queue_timeout_is_503(php, fpm):  # noqa: F811
    mark = fpm.dir / "tmp" / f"queue-{php.mode}"
    if mark.exists():
        mark.unlink()
    first = []
    t = threading.Thread(target=lambda: first.append(get(
        php, f"/slow.php?ms=2500&mark={mark}", host="tiny.test", timeout=30)))
    t.start()
    try:
        assert poll(mark.exists, 10), "slow.php did not start"
        r = get(php, "/slow.php?ms=1", host="tiny.test", timeout=30)
        assert r.status == 503
    finally:
        t.join(30)
    assert first and first[0].status == 200, first


def test_read_timeout_is_504_and_the_next_request_is_fine(php, fpm):  # noqa: F811,E501
    r = get(php, "/slow.php?ms=2500", host="timeout.test", timeout=30)
    assert r.status == 504
    assert php.wait_error_log(str(fpm.slow_sock)), php.error_log()
    assert any("timed out" in l and '"GET /slow.php?ms=2500 HTTP/1.1"' in l
               for l in php.error_log().splitlines()
               if "pool timeout" in l), php.error_log()
    # the pool's only backend was slow, not dead: the next request runs
    # (and does not get the connection of the one that timed out)
    for i in range(2):
        r = get(php, f"/slow.php?ms=1&n={i}", host="timeout.test")
        assert r.status == 200, r
        assert len(r.body.split()) == 3, r.body
    # nor is a lone backend said to be out of rotation
    assert "pool timeout: backend" not in php.error_log(), php.error_log()


@pytest.mark.parametrize("mpm", MPMS)
def test_killed_child_gives_its_connection_slots_back(make_mpm_server, fpm,  # noqa: F811,E501
                                                      mpm):
    """Children killed while they keep FastCGI connections cannot release
    their slots of max_connections: the master gives them back when it
    reaps them. Without that, every slot stays taken by nobody and every
    PHP request waits queue_timeout for a 503, until a restart."""
    srv = make_mpm_server(
        mode=mpm, server={"keep_alive_timeout": 30},
        sites=[("default", fpm.site("held"))],
        extra=fpm.pool("held", "keep", max_connections=2, keep_alive=2,
                       keep_alive_timeout=30, queue_timeout=2))
    # Two clients whose requests run at once take both slots, and keep
    # them (their connections to FPM stay open while the clients stay).
    # The scripts answer at once: a connection that ends while another
    # request waits for its first bytes is closed, not kept.
    clients = [srv.connect(30), srv.connect(30)]
    try:
        def hold(c, i):
            c.send(f"GET /answered.php?ms=500&hold={i} HTTP/1.1\r\n"
                   "Host: localhost\r\n\r\n")
            return c.read_response()

        for r in concurrently([lambda c=c, i=i: hold(c, i)
                               for i, c in enumerate(clients)]):
            assert not isinstance(r, Exception) and r.status == 200, r
        assert poll(lambda: fpm.connections("keep") == 2, 10), (
            f"{fpm.connections('keep')} FastCGI connections kept, not 2")
        victims = srv.children()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
    finally:
        for c in clients:
            c.close()
    wait_for(lambda: all(f"child pid {pid} exit signal KILL (9)"
                         in srv.error_log() for pid in victims),
             "every killed child to be reaped", srv)
    wait_for(lambda: srv.children()
             and not set(victims) & set(srv.children()),
             "new children", srv)
    # Both slots are free again: requests that outnumber them are all
    # served in turn, none waits queue_timeout (2 s) for a 503.
    results = concurrently([
        (lambda i=i: get(srv, f"/env.php?after={i}", timeout=30))
        for i in range(6)])
    for r in results:
        assert not isinstance(r, Exception), results
        assert r.status == 200, (r, srv.error_log())

    def given_back():
        return re.findall(r"\[fastcgi:warn\].*pool held: backend "
                          r"unix:\S+: (\d+) connection slots? of pid "
                          r"(\d+) given back", srv.error_log())

    wait_for(lambda: sum(int(n) for n, _ in given_back()) >= 2,
             "the two slots given back in the error log", srv)
    assert sum(int(n) for n, _ in given_back()) == 2, srv.error_log()
    assert {int(pid) for _, pid in given_back()} <= set(victims), (
        given_back(), victims)


# --- last: idle kept connections ---------------------------------------------


def test_idle_kept_connections_close_after_keep_alive_timeout(php, fpm):  # noqa: F811,E501
    # (last in the module: should kept connections stay, they pin FPM
    # children until FPM's request_terminate_timeout)
    # Two requests on one kept-alive client connection: the backend
    # connection is kept between them. (prefork and worker close their kept
    # backend connections when the client connection ends, before they wait
    # in accept(2), so the count is taken while the client is still here.)
    with php.connect() as c:
        for i in range(2):
            c.send(f"GET /env.php?idle={i} HTTP/1.1\r\nHost: ka.test\r\n\r\n")
            assert c.read_response().status == 200
        assert fpm.connections("keep") >= 1
    # keep_alive_timeout = 1: an idle thread must let them go as well,
    # or each one pins an FPM child
    assert poll(lambda: fpm.connections("keep") == 0, 6), (
        f"{fpm.connections('keep')} FastCGI connections still open")
