"""The master and its children: privileges, spare maintenance, a killed
child, MaxConnectionsPerChild, and graceful stop. Every wait polls the
process table or the status page with a generous bound."""

import grp
import os
import pwd
import select
import signal
import socket
import time

import pytest

from foyer_http import CHILD_GROUP, CHILD_USER, MPMS, STOP_TIMEOUT, proc_ids
from mpm_util import Load, finish_download, status, wait_for

H = "Host: localhost\r\n"
BIG = bytes(range(256)) * (32 << 10)  # 8 MiB


@pytest.mark.skipif(os.geteuid() != 0, reason="privileges drop only when "
                    "started as root")
@pytest.mark.parametrize("mpm", MPMS)
def test_children_drop_privileges(make_mpm_server, mpm):
    srv = make_mpm_server(mode=mpm)
    uid = pwd.getpwnam(CHILD_USER).pw_uid
    gid = grp.getgrnam(CHILD_GROUP).gr_gid
    kids = srv.children()
    assert kids
    for pid in kids:
        ids = proc_ids(pid)
        assert ids["Uid"] == [uid] * 4, (pid, ids)
        assert ids["Gid"] == [gid] * 4, (pid, ids)
    assert proc_ids(srv.pid)["Uid"] == [0] * 4
    assert srv.get("/").status in (200, 403)


def slow_download(srv):
    """A GET of big.bin by a client that does not read: the response holds
    its worker (W) until the client reads or goes away."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET /big.bin HTTP/1.1\r\n" + H.encode() + b"\r\n")
    return s


def count_board(board, chars):
    return sum(board.count(ch) for ch in chars)


def idle_beside_status(srv):
    """Idle workers, counting the one busy answering this status request."""
    return int(status(srv)["IdleWorkers"]) + 1


class Watch:
    """Samples the number of children on every check, to assert that it
    never went past a limit."""

    def __init__(self, srv):
        self.srv = srv
        self.most = 0

    def children(self):
        n = len(self.srv.children())
        self.most = max(self.most, n)
        return n


def test_prefork_spare_servers(make_mpm_server):
    srv = make_mpm_server(
        mode="prefork",
        server={"keep_alive_timeout": 30},
        mpm={"StartServers": 1, "MinSpareServers": 2, "MaxSpareServers": 3,
             "MaxRequestWorkers": 8},
        files={"big.bin": BIG})
    w = Watch(srv)
    # From one child up to two idle ones (the child that answers the status
    # request is busy meanwhile, idle otherwise).
    wait_for(lambda: w.children() >= 2
             and idle_beside_status(srv) >= 2,
             "MinSpareServers idle children", srv)
    before = w.children()
    held = [slow_download(srv) for _ in range(4)]
    try:
        # four busy children, and still two idle ones beside them
        wait_for(lambda: count_board(status(srv)["Scoreboard"], "W") >= 5
                 and idle_beside_status(srv) >= 2
                 and w.children() >= 6,
                 "more children for the burst", srv)
        assert w.children() > before
    finally:
        for s in held:
            s.close()
    # back to at most MaxSpareServers idle (+ the busy status request)
    wait_for(lambda: w.children() <= 3 + 1
             and int(status(srv)["IdleWorkers"]) <= 3,
             "spare children to be stopped", srv, timeout=30)
    assert w.most <= 8
    assert srv.get("/big.bin").body == BIG


def test_worker_spare_threads(make_mpm_server):
    tpc = 2
    srv = make_mpm_server(
        mode="worker",
        server={"keep_alive_timeout": 30},
        mpm={"StartServers": 1, "ServerLimit": 6, "ThreadsPerChild": tpc,
             "MaxRequestWorkers": 12, "MinSpareThreads": 2,
             "MaxSpareThreads": 5},
        files={"big.bin": BIG})
    w = Watch(srv)
    # the first child's two threads are MinSpareThreads already; the
    # status request takes one of them
    wait_for(lambda: idle_beside_status(srv) >= 2,
             "MinSpareThreads idle threads", srv)
    before = w.children()
    held = [slow_download(srv) for _ in range(5)]
    try:
        # five threads busy, two idle beside them: four children
        wait_for(lambda: count_board(status(srv)["Scoreboard"], "W") >= 6
                 and idle_beside_status(srv) >= 2,
                 "more children for the burst", srv)
        assert w.children() > before
        assert w.children() >= (5 + 2 + tpc - 1) // tpc
    finally:
        for s in held:
            s.close()
    # at most MaxSpareThreads idle: 5 idle + the status request = 3 children
    wait_for(lambda: int(status(srv)["IdleWorkers"]) <= 5
             and w.children() <= 3,
             "spare children to be stopped", srv, timeout=30)
    assert w.most <= 6
    assert srv.get("/big.bin").body == BIG


def answered(sock):
    """True once the server sent the first bytes of the response."""
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready) and sock.recv(1, socket.MSG_PEEK) != b""


def test_event_spare_threads(make_mpm_server):
    """event: a download blocked on its client waits in write completion
    and holds no thread (ConnsAsyncWriting), as with Apache. What makes a
    child stop accepting is its connection count, (AsyncRequestWorkerFactor
    + 1) x ThreadsPerChild roughly: its idle threads then stop counting,
    and the master starts others."""
    tpc = 2
    srv = make_mpm_server(
        mode="event",
        server={"keep_alive_timeout": 30},
        mpm={"StartServers": 1, "ServerLimit": 6, "ThreadsPerChild": tpc,
             "MaxRequestWorkers": 12, "MinSpareThreads": 2,
             "MaxSpareThreads": 5, "AsyncRequestWorkerFactor": 1},
        files={"big.bin": BIG})
    w = Watch(srv)
    wait_for(lambda: idle_beside_status(srv) >= 2,
             "MinSpareThreads idle threads", srv)
    before = w.children()
    held = [slow_download(srv) for _ in range(9)]
    try:
        wait_for(lambda: all(answered(s) for s in held),
                 "every download to be accepted and answered", srv)
        wait_for(lambda: int(status(srv)["ConnsAsyncWriting"]) >= 9,
                 "nine connections in write completion", srv)
        assert w.children() > before
    finally:
        for s in held:
            s.close()
    wait_for(lambda: int(status(srv)["IdleWorkers"]) <= 5
             and w.children() <= 3,
             "spare children to be stopped", srv, timeout=30)
    assert w.most <= 6
    assert srv.get("/big.bin").body == BIG


@pytest.mark.parametrize("mpm", MPMS)
def test_killed_child_is_replaced(make_mpm_server, mpm):
    """prefork replaces it by spare maintenance (MinSpareServers is not met
    without it); worker and event restart a child killed by a signal at
    once, as Apache's do."""
    srv = make_mpm_server(mode=mpm, files={"a.txt": "a\n"},
                          mpm={"MinSpareServers": 2} if mpm == "prefork"
                          else None)
    kids = srv.children()
    victim = kids[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: f"child pid {victim} exit signal KILL (9)"
             in srv.error_log(), "the exit signal in the error log", srv)
    wait_for(lambda: len(srv.children()) >= len(kids)
             and victim not in srv.children(), "a new child", srv)
    for _ in range(10):
        r = srv.get("/a.txt")
        assert (r.status, r.body) == (200, b"a\n")


@pytest.mark.parametrize("mpm", MPMS)
def test_max_connections_per_child_recycles(make_mpm_server, mpm):
    srv = make_mpm_server(mode=mpm, mpm={"MaxConnectionsPerChild": 3},
                          files={"a.txt": "recycled\n"})
    first = set(srv.children())
    seen = set(first)
    with Load(srv, "/a.txt", b"recycled\n", threads=4, seconds=3) as load:
        while any(t.is_alive() for t in load.threads):
            seen.update(srv.children())
            time.sleep(0.05)
    assert load.failures == [], (
        f"{len(load.failures)} failed, {load.ok} ok: {load.failures[:5]}")
    assert load.ok >= 3 * len(first), load.ok
    # short-lived children may come and go between two looks: the proof
    # is that the first ones are gone and others serve
    wait_for(lambda: not first & set(srv.children()) and srv.children(),
             "the first children to exit", srv)
    seen.update(srv.children())
    assert seen - first
    r = srv.get("/a.txt")
    assert r.body == b"recycled\n"


@pytest.mark.parametrize("mpm", MPMS)
def test_graceful_stop_finishes_download(make_mpm_server, mpm):
    srv = make_mpm_server(mode=mpm, files={"big.bin": BIG})
    kids = srv.children()
    s = slow_download(srv)
    got = b""
    while b"\r\n\r\n" not in got or len(got) < 65536:
        got += s.recv(4096)
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    srv.send_signal(signal.SIGWINCH)
    wait_for(lambda: "caught SIGWINCH, shutting down gracefully"
             in srv.error_log(), "the graceful stop to begin", srv)
    assert srv.proc.poll() is None, "the master left before the download"
    finish_download(s, body, BIG)
    s.close()
    assert srv.proc.wait(STOP_TIMEOUT) == 0
    assert set(kids) <= set(srv.known_children)
    assert srv.wait_children_gone() == []
    assert not srv.pid_file.exists()
    srv.stop()
