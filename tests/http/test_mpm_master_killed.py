"""The master killed with SIGKILL (OOM killer, an operator's kill -9, a
crash): its children notice, stop accepting, finish what they serve and exit,
as in a graceful stop, instead of serving on as orphans that nobody manages.
Every wait polls the process table with a generous bound."""

import os
import signal
import socket

import pytest

from foyer_http import MPMS, SANITIZER_MARKS, STOP_TIMEOUT, gone, poll
from mpm_util import finish_download, wait_for

H = b"Host: localhost\r\n"
BIG = bytes(range(256)) * (32 << 10)  # 8 MiB


def kill_master(srv):
    """SIGKILLs the master and reaps it. Returns its pid, its children
    alive just before, and {pid: start time} of every child it was seen
    with (to wait for, and to kill if they stay)."""
    live = srv.children()  # remembered in known_children with start times
    assert live, "no children to watch\n" + srv.diagnostics()
    master = srv.pid
    os.kill(master, signal.SIGKILL)
    assert srv.proc.wait(STOP_TIMEOUT) == -signal.SIGKILL
    return master, live, dict(srv.known_children)


def clean_up(srv, kids):
    """Kills, by pid, the children still alive (the bug this file guards
    against leaves them running), and checks the sanitizers said nothing.
    The master is already reaped: Server.stop() has nothing left to do."""
    for pid, start in kids.items():
        if not gone(pid, start):
            os.kill(pid, signal.SIGKILL)
    poll(lambda: all(gone(p, t) for p, t in kids.items()), STOP_TIMEOUT)
    srv.stderr_file.close()
    err = srv.stderr()
    for mark in SANITIZER_MARKS:
        assert mark not in err, f"sanitizer report in stderr:\n{err}"


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def port_closed(port):
    """Polls until the port refuses connections. A child whose main thread
    is already a zombie (gone() for the harness) may still have threads
    exiting, which hold its listener a moment longer: sanitizers' threads,
    for one."""
    return poll(lambda: refused(port), STOP_TIMEOUT, 0.1)


def said_goodbye(srv, master, pid):
    """The child's own line in the error log about its master's death."""
    return any(f"[pid {pid}]" in line
               and f"parent process {master} went away" in line
               for line in srv.error_log().splitlines())


@pytest.mark.parametrize("mpm", MPMS)
def test_children_exit_when_master_killed(make_mpm_server, mpm):
    srv = make_mpm_server(mode=mpm, files={"a.txt": "a\n"})
    assert srv.get("/a.txt").body == b"a\n"
    master, live, kids = kill_master(srv)
    try:
        left = srv.wait_children_gone(10)
        assert not left, (f"children {left} still run after the master was "
                          "killed\n" + srv.diagnostics())
        for pid in live:
            assert said_goodbye(srv, master, pid), (
                f"no line from child {pid}\n" + srv.diagnostics())
        assert port_closed(srv.port), "the port still takes connections"
    finally:
        clean_up(srv, kids)


@pytest.mark.parametrize("mpm", MPMS)
def test_master_killed_during_download(make_mpm_server, mpm):
    """A download that holds its child while the master dies ends complete:
    the child exits after it, not before."""
    srv = make_mpm_server(mode=mpm, files={"big.bin": BIG})
    # a client that reads slowly: the response waits on it
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", srv.port))
    s.sendall(b"GET /big.bin HTTP/1.1\r\n" + H + b"\r\n")
    got = b""
    while b"\r\n\r\n" not in got or len(got) < 65536:
        chunk = s.recv(4096)
        assert chunk, f"closed after {len(got)} bytes"
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    master, live, kids = kill_master(srv)
    try:
        # every child noticed, the one serving the download too
        for pid in live:
            wait_for(lambda: said_goodbye(srv, master, pid),
                     f"child {pid} to notice", srv)
        finish_download(s, body, BIG)
        left = srv.wait_children_gone(10)
        assert not left, (f"children {left} still run after the download "
                          "ended\n" + srv.diagnostics())
        assert port_closed(srv.port), "the port still takes connections"
    finally:
        s.close()
        clean_up(srv, kids)
