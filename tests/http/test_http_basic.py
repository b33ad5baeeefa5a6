"""HTTP/1.1 basics: methods, keep-alive, HTTP/1.0, pipelining, bodies."""

import socket
import subprocess

import pytest
import requests

from foyer_http import SERVER_VERSION, http_date_ok

INDEX = "<!doctype html><title>foyer test</title><p>hello</p>\n"
FILES = {
    "index.html": INDEX,
    "a.txt": "first\n",
    "b.txt": "second file\n",
    "c.txt": "the third one\n",
    "d/x.txt": "in a directory\n",
}


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(files=FILES)


def get(path, host="localhost", extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n"


def test_get_with_requests(srv):
    r = requests.get(srv.url("/"), timeout=5)
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Length"] == str(len(INDEX))
    assert r.headers["Server"] == SERVER_VERSION
    assert http_date_ok(r.headers["Date"]), r.headers["Date"]


def test_get_with_curl(srv):
    out = subprocess.run(
        ["curl", "-sS", "-D", "-", srv.url("/a.txt")],
        capture_output=True, timeout=10, check=True,
    ).stdout.decode()
    head, _, body = out.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200")
    assert body == "first\n"


def test_head_same_headers_no_body(srv):
    with srv.connect() as c:
        c.send(get("/b.txt"))
        g = c.read_response()
        c.send("HEAD /b.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        h = c.read_response(head=True)
        # if HEAD had sent a body, it would be read as the next status line
        c.send(get("/a.txt", extra="Connection: close\r\n"))
        after = c.read_response()
    assert h.status == 200
    assert h.header("Content-Length") == str(len(FILES["b.txt"]))
    for name in ("Content-Type", "ETag", "Last-Modified", "Accept-Ranges"):
        assert h.header(name) == g.header(name), name
    assert after.status == 200 and after.body == b"first\n"


@pytest.mark.parametrize("target", ["/", "/a.txt", "*"])
def test_options(srv, target):
    r = srv.request(f"OPTIONS {target} HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 200, target
    allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= allow, r.header("Allow")
    assert r.header("Content-Length") in ("0", None)


def test_keep_alive_reuses_one_socket(srv):
    with srv.connect() as c:
        for path, body in (("/a.txt", b"first\n"), ("/b.txt", b"second file\n"),
                           ("/a.txt", b"first\n")):
            c.send(get(path))
            r = c.read_response()
            assert r.status == 200
            assert r.body == body
            assert not r.has_token("Connection", "close")
        assert not c.closed_by_server(timeout=0.5)


def test_keep_alive_with_curl(srv):
    r = subprocess.run(
        ["curl", "-sv", "-o", "/dev/null", "-o", "/dev/null",
         srv.url("/a.txt"), srv.url("/b.txt")],
        capture_output=True, timeout=10,
    )
    assert r.returncode == 0
    assert b"Re-using existing connection" in r.stderr, r.stderr.decode()


def test_max_keep_alive_requests(make_server):
    srv = make_server(server={"max_keep_alive_requests": 3}, files=FILES)
    with srv.connect() as c:
        for i in range(3):
            c.send(get("/a.txt"))
            r = c.read_response()
            assert r.status == 200
            if i < 2:
                assert not r.has_token("Connection", "close"), i
        assert r.has_token("Connection", "close")
        assert c.closed_by_server()


def test_keep_alive_off(make_server):
    srv = make_server(server={"keep_alive": False}, files=FILES)
    with srv.connect() as c:
        c.send(get("/a.txt"))
        r = c.read_response()
        assert r.status == 200
        assert r.has_token("Connection", "close")
        assert c.closed_by_server()


def test_http10_closes_by_default(srv):
    with srv.connect() as c:
        c.send("GET /a.txt HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        assert r.body == b"first\n"
        assert not r.has_token("Connection", "keep-alive")
        assert c.closed_by_server()


def test_http10_keep_alive(srv):
    with srv.connect() as c:
        c.send("GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.status == 200
        assert r.has_token("Connection", "keep-alive")
        c.send("GET /b.txt HTTP/1.0\r\n\r\n")
        r = c.read_response()
        assert r.body == b"second file\n"
        assert c.closed_by_server()


def test_http11_connection_close(srv):
    with srv.connect() as c:
        c.send(get("/a.txt", extra="Connection: close\r\n"))
        r = c.read_response()
        assert r.status == 200
        assert r.has_token("Connection", "close")
        assert c.closed_by_server()


def test_pipelining_in_order(srv):
    with srv.connect() as c:
        c.send(get("/a.txt") + get("/b.txt") + get("/c.txt"))
        bodies = [c.read_response().body for _ in range(3)]
    assert bodies == [b"first\n", b"second file\n", b"the third one\n"]


def test_pipelining_mixed_methods_and_errors(srv):
    with srv.connect() as c:
        c.send(
            get("/c.txt")
            + "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
            + get("/missing.txt")
            + get("/b.txt")
        )
        r1 = c.read_response()
        r2 = c.read_response(head=True)
        r3 = c.read_response()
        r4 = c.read_response()
    assert (r1.status, r1.body) == (200, b"the third one\n")
    assert r2.status == 200 and r2.header("Content-Length") == "6"
    assert r3.status == 404
    assert (r4.status, r4.body) == (200, b"second file\n")


def test_pipelining_byte_by_byte(srv):
    data = (get("/a.txt") + get("/b.txt")).encode()
    with srv.connect() as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            c.send(data[i:i + 1])
        assert c.read_response().body == b"first\n"
        assert c.read_response().body == b"second file\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_body_by_content_length_then_next_request(srv, method):
    body = "x=1&y=hello"
    with srv.connect() as c:
        c.send(
            f"{method} /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            + body
            + get("/b.txt")
        )
        r = c.read_response()
        assert r.status == 405
        allow = [m.strip() for m in r.header("Allow").split(",")]
        assert sorted(allow) == ["GET", "HEAD", "OPTIONS"]
        r = c.read_response()
        assert (r.status, r.body) == (200, b"second file\n")


def test_chunked_body_then_next_request(srv):
    chunked = (
        "5\r\nhello\r\n"
        "6;ext=1\r\n world\r\n"
        "A\r\n0123456789\r\n"
        "0\r\nX-Trailer: yes\r\n\r\n"
    )
    with srv.connect() as c:
        c.send(
            "POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked + get("/c.txt")
        )
        assert c.read_response().status == 405
        r = c.read_response()
        assert (r.status, r.body) == (200, b"the third one\n")


def test_body_sent_in_pieces(srv):
    with srv.connect() as c:
        c.send("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n")
        c.send("0123456789")
        c.send("0123456789" + get("/b.txt"))
        assert c.read_response().status == 405
        assert c.read_response().body == b"second file\n"


def test_expect_continue_with_body(srv):
    """The server must answer (100 or a final status) before the body is
    sent, otherwise a client that waits for 100 deadlocks."""
    with srv.connect(timeout=3) as c:
        c.send(
            "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Expect: 100-continue\r\n\r\n"
        )
        first = c.read_response()
        if first.status == 100:
            assert first.raw.startswith(b"HTTP/1.1 100 Continue\r\n")
            c.send("hello" + get("/b.txt"))
            final = c.read_response()
            assert final.status == 405
            assert c.read_response().body == b"second file\n"
        else:
            assert first.status == 405


def test_expect_continue_without_body_gets_no_interim(srv):
    with srv.connect() as c:
        c.send(get("/a.txt", extra="Expect: 100-continue\r\n"))
        r = c.read_response()
        assert r.status == 200
        assert r.body == b"first\n"


def test_expect_continue_with_curl(srv, tmp_path):
    """curl sends Expect: 100-continue for a large upload and waits for the
    server's answer."""
    payload = tmp_path / "payload"
    payload.write_bytes(b"z" * (2 * 1024 * 1024))
    r = subprocess.run(
        ["curl", "-sv", "-o", "/dev/null", "-w", "%{http_code}",
         "--expect100-timeout", "30", "-H", "Expect: 100-continue",
         "--data-binary", f"@{payload}", srv.url("/a.txt")],
        capture_output=True, timeout=20,
    )
    assert r.stdout == b"405", r.stderr.decode()


@pytest.mark.parametrize("path", ["/a.txt", "/missing"])
def test_date_and_server_on_every_response(srv, path):
    r = srv.get(path)
    assert r.header("Server") == SERVER_VERSION
    assert http_date_ok(r.header("Date")), r.header("Date")


def test_date_and_server_on_protocol_error(srv):
    r = srv.request("GET / HTTP/1.1\r\n\r\n")  # no Host
    assert r.status == 400
    assert r.header("Server") == SERVER_VERSION
    assert http_date_ok(r.header("Date"))


def test_leading_empty_lines_are_ignored(srv):
    r = srv.request("\r\n\r\n" + get("/a.txt", extra="Connection: close\r\n"))
    assert (r.status, r.body) == (200, b"first\n")


def test_query_string_ignored_for_static(srv):
    r = srv.get("/a.txt?x=1&y=%20")
    assert (r.status, r.body) == (200, b"first\n")


def test_connection_close_ends_a_pipeline(srv):
    with srv.connect() as c:
        c.send(get("/a.txt", extra="Connection: close\r\n") + get("/b.txt"))
        assert c.read_response().body == b"first\n"
        assert c.closed_by_server(), "answered a request sent after close"


def server_side_inode(srv, client_port):
    """Inode of the server's end of the connection from client_port (0: no
    process holds it any more), or None when the kernel has forgotten it."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            local = int(cols[1].split(":")[1], 16)
            remote = int(cols[2].split(":")[1], 16)
            if local == srv.port and remote == client_port:
                return int(cols[9])
    return None


def test_close_request_is_closed_without_lingering(srv):
    """A client that asked to close and sent nothing more: everything it
    sent was read, so closing cannot reset the response, and the server
    closes its socket before the FIN leaves (no lingering round trip that
    would hold a process or thread until the client closes too)."""
    with srv.connect() as c:
        c.send(get("/a.txt", extra="Connection: close\r\n"))
        assert c.read_response().body == b"first\n"
        assert c.closed_by_server()
        assert server_side_inode(srv, c.sock.getsockname()[1]) in (0, None)


def test_unread_bytes_after_close_are_drained_by_lingering(srv):
    """Bytes after a Connection: close request are never answered, but the
    server reads them while it lingers, so that its close does not reset
    the response on the way: the socket is still the server's when the
    client sees the end."""
    with srv.connect() as c:
        c.send(get("/a.txt", extra="Connection: close\r\n") + get("/b.txt"))
        assert c.read_response().body == b"first\n"
        assert c.closed_by_server()
        assert server_side_inode(srv, c.sock.getsockname()[1]) not in (0, None)


def test_keep_alive_after_non_protocol_errors(srv):
    """404, 403, 301, 405 and 416 answer a well-formed request: the
    connection stays usable."""
    with srv.connect() as c:
        c.send(get("/missing") + get("/.env") + get("/d")
               + "DELETE /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
               + get("/a.txt", extra="Range: bytes=100-\r\n") + get("/c.txt"))
        statuses = [c.read_response().status for _ in range(5)]
        last = c.read_response()
    assert statuses == [404, 403, 301, 405, 416]
    assert (last.status, last.body) == (200, b"the third one\n")


def test_head_of_error_has_no_body(srv):
    with srv.connect() as c:
        c.send("HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n" + get("/a.txt"))
        h = c.read_response(head=True)
        assert h.status == 404
        assert c.read_response().body == b"first\n"


def test_get_with_a_body_is_read_and_discarded(srv):
    with srv.connect() as c:
        c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               + get("/b.txt"))
        assert c.read_response().body == b"first\n"
        assert c.read_response().body == b"second file\n"


def test_transfer_coding_names_are_case_insensitive(srv):
    with srv.connect() as c:
        c.send("POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
               "3\r\nabc\r\n0\r\n\r\n" + get("/b.txt"))
        assert c.read_response().status == 405
        assert c.read_response().body == b"second file\n"


def test_absolute_form_target(srv):
    r = srv.request("GET http://localhost/a.txt HTTP/1.1\r\nHost: localhost\r\n"
                    "Connection: close\r\n\r\n")
    assert (r.status, r.body) == (200, b"first\n")


def test_client_half_close_still_answered(srv):
    with srv.connect() as c:
        c.send(get("/a.txt"))
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        assert (r.status, r.body) == (200, b"first\n")
        assert c.closed_by_server()


def test_http10_expect_gets_no_interim(srv):
    """RFC 9110 10.1.1: no 100 (Continue) to an HTTP/1.0 client."""
    with srv.connect() as c:
        c.send("POST /a.txt HTTP/1.0\r\nContent-Length: 5\r\n"
               "Expect: 100-continue\r\n\r\nhello")
        assert c.read_response().status == 405


def test_long_pipeline_in_order(srv):
    paths = ["/a.txt", "/b.txt", "/c.txt"] * 33  # under max_keep_alive_requests
    with srv.connect(timeout=10) as c:
        c.send("".join(get(p) for p in paths))
        bodies = [c.read_response().body for _ in paths]
    assert bodies == [FILES[p[1:]].encode() for p in paths]


def test_many_connections_at_once(srv):
    """One process holds many connections: each gets a partial request, then
    they are completed in reverse order and all answered. Under an MPM the
    connections beyond MaxRequestWorkers wait in the listen backlog: each
    client closes once answered, so that its worker takes the next one
    instead of keeping it alive."""
    clients = [srv.connect() for _ in range(100)]
    try:
        for c in clients:
            c.send("GET /b.txt HTTP/1.1\r\n")
        for c in reversed(clients):
            c.send("Host: x\r\n\r\n")
        for c in clients:
            assert c.read_response().body == b"second file\n"
            c.close()
    finally:
        for c in clients:
            c.close()
