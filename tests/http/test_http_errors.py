"""Malformed requests and limits: the exact status, a small HTML body, a line
in the error log naming the client, and the connection closed after it."""

import pytest

from foyer_http import SERVER_VERSION

LIMITS = {
    "limit_request_line": 200,
    "limit_request_fields": 10,
    "limit_request_field_size": 100,
    "limit_request_body": 100,
}


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(server=LIMITS, files={"index.html": "home\n"})


H = "Host: localhost\r\n"

MALFORMED = [
    # request line
    ("http09", "GET /\r\n\r\n", 400),
    ("no-target", "GET HTTP/1.1\r\n" + H + "\r\n", 400),
    ("extra-token", "GET / HTTP/1.1 x\r\n" + H + "\r\n", 400),
    ("double-space", "GET  / HTTP/1.1\r\n" + H + "\r\n", 400),
    ("bad-method-char", "G(T / HTTP/1.1\r\n" + H + "\r\n", 400),
    ("bad-protocol-name", "GET / HTTX/1.1\r\n" + H + "\r\n", 400),
    ("bad-version-syntax", "GET / HTTP/1\r\n" + H + "\r\n", 400),
    ("lowercase-http", "GET / http/1.1\r\n" + H + "\r\n", 400),
    ("space-in-target", "GET /a b HTTP/1.1\r\n" + H + "\r\n", 400),
    ("ctl-in-target", "GET /a\x01b HTTP/1.1\r\n" + H + "\r\n", 400),
    # line endings and bytes
    ("bare-lf", "GET / HTTP/1.1\nHost: localhost\n\n", 400),
    ("bare-lf-in-headers", "GET / HTTP/1.1\r\nHost: localhost\nX-A: b\r\n\r\n", 400),
    ("bare-lf-at-end", "GET / HTTP/1.1\r\n" + H + "\n", 400),
    ("bare-cr", "GET / HTTP/1.1\r\nHost: local\rhost\r\n\r\n", 400),
    ("nul-in-value", "GET / HTTP/1.1\r\n" + H + "X-A: a\x00b\r\n\r\n", 400),
    ("nul-in-request-line", "GET /\x00 HTTP/1.1\r\n" + H + "\r\n", 400),
    # header fields
    ("obs-fold", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n b\r\n\r\n", 400),
    ("obs-fold-tab", "GET / HTTP/1.1\r\n" + H + "X-A: a\r\n\tb\r\n\r\n", 400),
    ("space-before-colon", "GET / HTTP/1.1\r\nHost : localhost\r\n\r\n", 400),
    ("tab-before-colon", "GET / HTTP/1.1\r\nHost\t: localhost\r\n\r\n", 400),
    ("no-colon", "GET / HTTP/1.1\r\n" + H + "NoColonHere\r\n\r\n", 400),
    ("empty-name", "GET / HTTP/1.1\r\n" + H + ": value\r\n\r\n", 400),
    ("bad-name-char", "GET / HTTP/1.1\r\n" + H + "X(A): v\r\n\r\n", 400),
    # Host
    ("missing-host", "GET / HTTP/1.1\r\n\r\n", 400),
    ("two-hosts", "GET / HTTP/1.1\r\n" + H + "Host: other\r\n\r\n", 400),
    ("host-with-space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    ("host-with-slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    # framing (request smuggling)
    ("cl-and-te",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te-and-cl",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n"
     "Content-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("differing-cl",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"
     "hello!", 400),
    ("repeated-cl",
     "POST / HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"
     "hello", 400),
    ("cl-list", "POST / HTTP/1.1\r\n" + H + "Content-Length: 5, 5\r\n\r\nhello", 400),
    ("cl-not-a-number", "POST / HTTP/1.1\r\n" + H + "Content-Length: abc\r\n\r\n", 400),
    ("cl-plus", "POST / HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\nhello", 400),
    ("cl-negative", "POST / HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\n", 400),
    ("chunked-not-last",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n\r\n"
     "0\r\n\r\n", 400),
    ("chunked-twice",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, chunked\r\n\r\n"
     "0\r\n\r\n", 400),
    ("bad-chunk-size",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("chunk-without-crlf",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
     "5\r\nhelloXX0\r\n\r\n", 400),
    # not implemented / not supported
    ("unknown-coding",
     "POST / HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n\r\n"
     "0\r\n\r\n", 501),
    ("unknown-method", "FOO / HTTP/1.1\r\n" + H + "\r\n", 501),
    ("http2-line", "GET / HTTP/2.0\r\n" + H + "\r\n", 505),
    ("http37-line", "GET / HTTP/3.7\r\n" + H + "\r\n", 505),
]


def assert_error_response(srv, c, r, status):
    assert r.status == status, r.raw
    assert r.header("Server") == SERVER_VERSION
    assert r.has_token("Connection", "close"), r.headers
    assert (r.header("Content-Type") or "").startswith("text/html")
    assert b"<" in r.body and len(r.body) < 4096
    assert int(r.header("Content-Length")) == len(r.body)
    assert c.closed_by_server(), "connection left open after an error"
    mark = f"[client 127.0.0.1:{c.local_port}"
    assert srv.wait_error_log(mark), f"no {mark!r} in\n{srv.error_log()}"


@pytest.mark.parametrize(
    "request_bytes,status",
    [pytest.param(req, st, id=name) for name, req, st in MALFORMED],
)
def test_malformed(srv, request_bytes, status):
    with srv.connect() as c:
        c.send(request_bytes)
        r = c.read_response()
        assert_error_response(srv, c, r, status)


def test_error_stops_a_pipeline(srv):
    """Nothing after a malformed request is answered."""
    with srv.connect() as c:
        c.send(
            "GET /index.html HTTP/1.1\r\n" + H + "\r\n"
            "GET / HTTP/1.1\r\nHost : bad\r\n\r\n"
            "GET /index.html HTTP/1.1\r\n" + H + "\r\n"
        )
        assert c.read_response().status == 200
        assert_error_response(srv, c, c.read_response(), 400)


def test_server_survives_errors(srv):
    for _ in range(3):
        for _, req, _ in MALFORMED:
            srv.raw(req)
    r = srv.get("/index.html")
    assert (r.status, r.body) == (200, b"home\n")


# limits: exactly at the limit is accepted, one more byte is refused

def line_of(length):
    """A request line of exactly length bytes (CRLF excluded)."""
    path = "/" + "a" * (length - len("GET / HTTP/1.1"))
    line = f"GET {path} HTTP/1.1"
    assert len(line) == length
    return line


def test_request_line_at_limit(srv):
    r = srv.request(line_of(200) + "\r\n" + H + "\r\n")
    assert r.status == 404  # parsed, routed, not found


def test_request_line_over_limit(srv):
    with srv.connect() as c:
        c.send(line_of(201) + "\r\n" + H + "\r\n")
        assert_error_response(srv, c, c.read_response(), 414)


def test_request_line_over_limit_before_end_of_line(srv):
    """An endless request line is refused without waiting for its end."""
    with srv.connect() as c:
        c.send("GET /" + "a" * 4096)
        assert_error_response(srv, c, c.read_response(), 414)


def fields(n):
    return H + "".join(f"X-F{i}: {i}\r\n" for i in range(n - 1))


def test_fields_at_limit(srv):
    r = srv.request("GET /index.html HTTP/1.1\r\n" + fields(10) + "\r\n")
    assert (r.status, r.body) == (200, b"home\n")


def test_fields_over_limit(srv):
    with srv.connect() as c:
        c.send("GET /index.html HTTP/1.1\r\n" + fields(11) + "\r\n")
        assert_error_response(srv, c, c.read_response(), 431)


def field_of(length):
    """A header line of exactly length bytes (CRLF excluded)."""
    line = "X-Long: " + "v" * (length - len("X-Long: "))
    assert len(line) == length
    return line + "\r\n"


def test_field_size_at_limit(srv):
    r = srv.request("GET /index.html HTTP/1.1\r\n" + H + field_of(100) + "\r\n")
    assert (r.status, r.body) == (200, b"home\n")


def test_field_size_over_limit(srv):
    with srv.connect() as c:
        c.send("GET /index.html HTTP/1.1\r\n" + H + field_of(101) + "\r\n")
        assert_error_response(srv, c, c.read_response(), 431)


def post(length_header, body):
    return f"POST /index.html HTTP/1.1\r\n{H}{length_header}\r\n\r\n" + body


def test_body_at_limit(srv):
    with srv.connect() as c:
        c.send(post("Content-Length: 100", "b" * 100)
               + "GET /index.html HTTP/1.1\r\n" + H + "\r\n")
        assert c.read_response().status == 405
        assert c.read_response().body == b"home\n"


def test_body_over_limit_by_content_length(srv):
    with srv.connect() as c:
        c.send(post("Content-Length: 101", ""))
        assert_error_response(srv, c, c.read_response(), 413)


def chunks(*sizes):
    return "".join(f"{n:x}\r\n" + "c" * n + "\r\n" for n in sizes) + "0\r\n\r\n"


def test_chunked_body_at_limit(srv):
    with srv.connect() as c:
        c.send(post("Transfer-Encoding: chunked", chunks(60, 40))
               + "GET /index.html HTTP/1.1\r\n" + H + "\r\n")
        assert c.read_response().status == 405
        assert c.read_response().body == b"home\n"


def test_chunked_body_over_limit(srv):
    with srv.connect() as c:
        c.send(post("Transfer-Encoding: chunked", chunks(60, 41)))
        assert_error_response(srv, c, c.read_response(), 413)


def test_unlimited_body(make_server):
    srv = make_server(server={"limit_request_body": 0}, files={"f": "x"})
    big = "q" * (3 * 1024 * 1024)
    with srv.connect(timeout=10) as c:
        c.send(f"PUT /f HTTP/1.1\r\n{H}Content-Length: {len(big)}\r\n\r\n" + big
               + f"GET /f HTTP/1.1\r\n{H}\r\n")
        assert c.read_response().status == 405
        assert c.read_response().body == b"x"


def test_body_limit_with_suffix(make_server):
    srv = make_server(server={"limit_request_body": "1k"}, files={"f": "x"})
    with srv.connect() as c:
        c.send(f"PUT /f HTTP/1.1\r\n{H}Content-Length: 1024\r\n\r\n" + "q" * 1024
               + f"GET /f HTTP/1.1\r\n{H}\r\n")
        assert c.read_response().status == 405
        assert c.read_response().body == b"x"
    assert srv.request(f"PUT /f HTTP/1.1\r\n{H}Content-Length: 1025\r\n\r\n").status == 413

