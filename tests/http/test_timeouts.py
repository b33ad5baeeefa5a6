"""Timeouts, configured to 1 second. Each test waits for the server's
reaction with a generous upper bound and asserts the reaction itself, never
how fast it came."""

import select
import time

import pytest

from foyer_http import SERVER_VERSION

CONFIGURED = 1
WAIT = 5 * CONFIGURED  # upper bound for any reaction

H = "Host: localhost\r\n"


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(
        server={
            "request_header_timeout": CONFIGURED,
            "request_body_timeout": CONFIGURED,
            "keep_alive_timeout": CONFIGURED,
        },
        files={"index.html": "home\n"},
    )


def assert_408_and_close(c):
    r = c.read_response()
    assert r.status == 408, r.raw
    assert r.header("Server") == SERVER_VERSION
    assert r.has_token("Connection", "close")
    assert c.closed_by_server(WAIT)


def test_partial_head_gets_408(srv):
    with srv.connect(timeout=WAIT) as c:
        c.send("GET /index.html HTTP/1.1\r\n" + H)
        assert_408_and_close(c)


def test_partial_request_line_gets_408(srv):
    with srv.connect(timeout=WAIT) as c:
        c.send("GET /ind")
        assert_408_and_close(c)


def test_slow_loris_trickle_gets_408(srv):
    """Bytes that keep arriving do not extend the time allowed for the whole
    head."""
    head = ("GET /index.html HTTP/1.1\r\n" + H + "X-Pad: " + "p" * 400).encode()
    with srv.connect(timeout=WAIT) as c:
        deadline = time.monotonic() + 3 * WAIT
        i = 0
        while time.monotonic() < deadline:
            ready, _, _ = select.select([c.sock], [], [], 0.1)
            if ready:
                break
            if i < len(head):
                try:
                    c.send(head[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                i += 1
        else:
            pytest.fail("no reaction to a trickled request head")
        assert i < len(head), "the whole head was sent before any reaction"
        assert_408_and_close(c)


def test_stalled_body_gets_408(srv):
    with srv.connect(timeout=WAIT) as c:
        c.send("POST /index.html HTTP/1.1\r\n" + H + "Content-Length: 10\r\n\r\nabc")
        assert_408_and_close(c)


def test_stalled_chunked_body_gets_408(srv):
    with srv.connect(timeout=WAIT) as c:
        c.send("POST /index.html HTTP/1.1\r\n" + H
               + "Transfer-Encoding: chunked\r\n\r\n5\r\nab")
        assert_408_and_close(c)


def test_idle_keep_alive_closed_silently(srv):
    with srv.connect(timeout=WAIT) as c:
        c.send("GET /index.html HTTP/1.1\r\n" + H + "\r\n")
        r = c.read_response()
        assert (r.status, r.body) == (200, b"home\n")
        assert c.closed_by_server(WAIT), "expected a silent close, got %r" % c.buf


def test_idle_after_several_requests_closed_silently(srv):
    with srv.connect(timeout=WAIT) as c:
        for _ in range(3):
            c.send("GET /index.html HTTP/1.1\r\n" + H + "\r\n")
            assert c.read_response().status == 200
        assert c.closed_by_server(WAIT), "expected a silent close, got %r" % c.buf


def test_server_still_serves_after_timeouts(srv):
    r = srv.get("/index.html")
    assert (r.status, r.body) == (200, b"home\n")
