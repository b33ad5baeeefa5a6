"""No descriptor outlives its connection: after a batch of bad, aborted and
normal requests the server's open descriptors return to the baseline.

With -X the one process is counted. Under an MPM the connections live in
the children, which come and go with spare maintenance: the master must
keep its count, and no child may hold more than the busiest child held at
the baseline."""

import socket
import struct

import pytest

from foyer_http import poll
from test_http_errors import MALFORMED

H = "Host: localhost\r\n"
SETTLE = 10.0  # upper bound for closing everything that was aborted


@pytest.fixture
def srv(make_server):
    return make_server(
        server={"request_header_timeout": 1, "request_body_timeout": 1,
                "keep_alive_timeout": 1},
        files={"index.html": "home\n", "big.bin": b"\xab" * (8 << 20)},
    )


def fd_usage(srv):
    """(descriptors of the master or the -X process, most descriptors held
    by one child)."""
    return srv.fd_count(), max(srv.child_fd_counts().values(), default=0)


def settled_count(srv):
    """The descriptors open when no connection is in progress, after one
    finished request, so that what the server opens once for good (a log
    file opened lazily, say) is in the baseline."""
    assert srv.get("/index.html").status == 200
    return fd_usage(srv)


def assert_back_to(srv, baseline):
    def back():
        now = fd_usage(srv)
        return all(n <= b for n, b in zip(now, baseline))

    assert poll(back, SETTLE, 0.1), (
        f"{fd_usage(srv)} descriptors open (process, busiest child), "
        f"{baseline} before")


def drop(sock, rst):
    """Closes the client side, with RST instead of FIN when rst is true."""
    if rst:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_no_leak_after_bad_requests(srv):
    baseline = settled_count(srv)
    for _ in range(3):
        for _, req, _ in MALFORMED:
            srv.raw(req)
    assert_back_to(srv, baseline)


def test_no_leak_after_aborted_connections(srv):
    baseline = settled_count(srv)
    for i in range(20):
        # partial head, then the client goes away (FIN or RST)
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /index.html HTTP/1.1\r\nHo")
        drop(s, rst=i % 2)
        # partial body
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"POST / HTTP/1.1\r\n" + H.encode() + b"Content-Length: 100\r\n\r\nab")
        drop(s, rst=i % 2)
        # connected, nothing sent
        socket.create_connection(("127.0.0.1", srv.port)).close()
    assert_back_to(srv, baseline)


def test_no_leak_after_aborted_downloads(srv):
    baseline = settled_count(srv)
    for i in range(10):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /big.bin HTTP/1.1\r\n" + H.encode() + b"\r\n")
        s.recv(1024)
        drop(s, rst=i % 2)
    assert_back_to(srv, baseline)


def test_no_leak_after_normal_traffic_and_timeouts(srv):
    baseline = settled_count(srv)
    idle = []
    for _ in range(10):
        with srv.connect() as c:
            c.send("GET /index.html HTTP/1.1\r\n" + H + "\r\n"
                   "GET /missing HTTP/1.1\r\n" + H + "\r\n"
                   "GET /index.html HTTP/1.1\r\n" + H + "Range: bytes=0-1\r\n\r\n")
            for _ in range(3):
                c.read_response()
        c = srv.connect()
        c.send("GET /index.html HTTP/1.1\r\n" + H + "\r\n")
        c.read_response()
        idle.append(c)  # the server closes these after keep_alive_timeout
    for c in idle:
        assert c.closed_by_server(SETTLE)
        c.close()
    assert_back_to(srv, baseline)
    r = srv.get("/index.html")
    assert r.body == b"home\n"
