"""PHP's responses when the backend misbehaves or asks for more than a
body: a FastCGI backend built on libfcgi that breaks the protocol on
request (tests/http/fcgi_fault.c, built by make), internal redirects
(Location: /path without Status) and X-Sendfile / X-Accel-Redirect, with
the fault backend and with real php-fpm8.2. Under -X and each MPM.

One foyer per mode serves, chosen by Host:
  default       pool fault (the fault backend), x_sendfile on
  off.test      pool fault, x_sendfile off
  fc.test       pool fault, front_controller = /f.php
  php.test      pool php (php-fpm's main pool), x_sendfile on
  phpoff.test   pool php, x_sendfile off
The fault pool keeps no connection, reads for 1 s at most (read_timeout)
and never marks its one backend down (max_fails = 0).
"""

import os
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from foyer_http import FOYER_BIN, ROOT, open_to_others, poll
from php_fpm import fpm  # noqa: F401 (the module's php-fpm fixture)
from test_fd_leaks import assert_back_to, settled_count

REPORT = bytes(range(256)) * 400  # 100 KiB: goes out by sendfile(2)
SMALL = b"small private file\n"
STATIC = b"a static file of the site\n"
OUTSIDE = b"OUTSIDE-THE-ROOT\n"

PHP_SCRIPTS = {
    "xsend.php": r"""<?php
header('X-Sendfile: ' . $_GET['f']);
header('Content-Type: application/pdf');
header('Content-Disposition: attachment; filename="doc.pdf"');
echo "php body, not the file\n";
""",
    "xaccel.php": r"""<?php
header('X-Accel-Redirect: ' . $_GET['f']);
header('Content-Type: text/csv');
echo "php body, not the file\n";
""",
}


def build_dir():
    return Path(FOYER_BIN).resolve().parent


@pytest.fixture(scope="module")
def fault_bin():
    """tests/fcgi_fault next to FOYER_BIN, made with the same build's
    settings (make http builds it too)."""
    out = build_dir() / "tests" / "fcgi_fault"
    name = build_dir().name
    args = ["make", "--no-print-directory", "-C", str(ROOT),
            f"O={build_dir()}", str(out)]
    if name.startswith("build-"):
        args.append("SANITIZE=" + name[len("build-"):].replace("-", ","))
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """The fault sites' document root, the x_sendfile_root beside it and
    a file outside of both."""
    d = tmp_path_factory.mktemp("faults")
    www = d / "www"
    www.mkdir()
    for name in ("f.php", "loop.php", "g.php"):
        (www / name).write_text("<?php // answered by the fault backend\n")
    (www / "static.txt").write_bytes(STATIC)
    (www / "index.html").write_text("home\n")
    (www / "dir").mkdir()
    (www / "dir" / "index.html").write_text("dir index\n")
    private = d / "private"
    (private / "sub").mkdir(parents=True)
    (private / "report.bin").write_bytes(REPORT)
    (private / "small.txt").write_bytes(SMALL)
    (private / "sub" / "inner.txt").write_text("inner\n")
    (private / ".hidden").write_text("hidden\n")
    (d / "outside.txt").write_bytes(OUTSIDE)
    (private / "escape").symlink_to(d / "outside.txt")
    (private / "escape-rel").symlink_to("../outside.txt")
    (d / "sock").mkdir()
    open_to_others(d)
    return d


@pytest.fixture(scope="module")
def backend(fault_bin, tree):
    """The fault backend on a unix socket; killed by its pid at the end
    (libfcgi handles SIGTERM itself)."""
    sock = tree / "sock" / "fault.sock"
    proc = subprocess.Popen([str(fault_bin), str(sock), "8"],
                            stdin=subprocess.DEVNULL)
    assert poll(sock.exists, 10), "the fault backend did not listen"
    yield sock
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def srv(make_module_server, fpm, backend, tree):  # noqa: F811
    for name, text in PHP_SCRIPTS.items():
        (fpm.www / name).write_text(text)
    open_to_others(fpm.www)
    www = str(tree / "www")
    private = str(tree / "private")
    sites = [
        ("default", {"document_root": www, "php": "fpm:fault",
                     "x_sendfile": True, "x_sendfile_root": private}),
        ("off", {"document_root": www, "php": "fpm:fault",
                 "server_name": "off.test"}),
        ("fc", {"document_root": www, "php": "fpm:fault",
                "server_name": "fc.test", "front_controller": "/f.php"}),
        ("php", fpm.site("php", server_name="php.test", x_sendfile=True,
                         x_sendfile_root=private)),
        ("phpoff", fpm.site("php", server_name="phpoff.test")),
    ]
    extra = (
        f"\n[pool fault]\nbackend = unix:{backend}\nkeep_alive = 0\n"
        "read_timeout = 1\nmax_fails = 0\n"
        + fpm.pool("php", "main"))
    return make_module_server(sites=sites, extra=extra)


def request(srv, method, path, host="localhost", headers="", body=b""):
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    head += "Connection: close\r\n\r\n"
    with srv.connect(10) as c:
        c.send(head.encode("latin-1") + body)
        return c.read_response(head=method == "HEAD")


def get(srv, path, **kw):
    return request(srv, "GET", path, **kw)


def q(value):
    return urllib.parse.quote(value, safe="/")


def log_lines(srv, text, request_line):
    """The error log lines holding text and the request line."""
    return [l for l in srv.error_log().splitlines()
            if text in l and f'"{request_line}"' in l]


def wait_log(srv, text, request_line):
    assert poll(lambda: log_lines(srv, text, request_line)), srv.error_log()
    return log_lines(srv, text, request_line)


def access_line(srv, request_line):
    def find():
        return [l for l in srv.access_lines() if f'"{request_line}"' in l]
    assert poll(find), srv.access_log()
    return find()[-1]


def echo(resp):
    """The echo mode's body as a dict."""
    assert resp.status == 200, (resp.status, resp.body)
    return dict(l.split("=", 1) for l in resp.body.decode().splitlines())


def serves_on(srv):
    r = get(srv, "/f.php?mode=echo&after=1")
    assert echo(r)["QUERY_STRING"] == "mode=echo&after=1"


# --- a backend that breaks the protocol ------------------------------------


def test_records_split_across_one_byte_writes(srv):
    r = get(srv, "/f.php?mode=split")
    assert r.status == 200
    assert r.header("X-Split") == "yes"
    assert r.header("Content-Type") == "text/plain"
    assert r.body == b"".join(b"split body line %d\n" % i for i in range(20))
    wait_log(srv, 'FastCGI sent in stderr: "split-stderr"',
             "GET /f.php?mode=split HTTP/1.1")


def test_stderr_interleaved_with_stdout(srv):
    r = get(srv, "/f.php?mode=stderr")
    assert r.status == 200
    assert r.header("X-Interleaved") == "yes"
    assert r.body == b"body 0\nbody 1\nbody 2\n"
    for i in range(5):
        wait_log(srv, f'FastCGI sent in stderr: "interleaved-stderr {i}"',
                 "GET /f.php?mode=stderr HTTP/1.1")


@pytest.mark.parametrize("fault, status, text", [
    ("bighdr", 502, "backend failed (pool fault, backend unix:{sock}): "
                    "response header too big"),
    ("close", 502, "backend failed (pool fault, backend unix:{sock}): "
                   "closed before END_REQUEST"),
    ("stall", 504, "backend timed out (pool fault, backend unix:{sock}): "
                   "read timeout"),
    ("garbage", 502, "backend failed (pool fault, backend unix:{sock}): "
                     "bad FastCGI version"),
    ("wrongid", 502, "backend failed (pool fault, backend unix:{sock}): "
                     "unexpected FastCGI request id"),
    ("endonly", 502, "backend failed (pool fault, backend unix:{sock}): "
                     "no response header"),
])
def test_fault_answers_with_a_status_and_a_log_line(srv, backend, fault,
                                                     status, text):
    path = f"/f.php?mode={fault}&n={status}"
    r = get(srv, path)
    assert r.status == status, r
    assert b"hhhh" not in r.body and b"FastCGI" not in r.body
    lines = wait_log(srv, text.format(sock=backend), f"GET {path} HTTP/1.1")
    assert "[fastcgi:error]" in lines[0], lines
    assert f'"GET {path} HTTP/1.1" {status} ' in access_line(
        srv, f"GET {path} HTTP/1.1")
    serves_on(srv)


def test_close_after_headers_truncates_and_closes(srv, backend):
    with srv.connect(10) as c:
        c.send("GET /f.php?mode=truncate HTTP/1.1\r\nHost: localhost\r\n\r\n")
        head = c._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"Transfer-Encoding: chunked" in head
        rest = c.read_to_eof()
    # the part that came, and then the close: no last chunk
    assert rest == b"d\r\npartial body\n\r\n", rest
    wait_log(srv, f"response truncated (pool fault, backend unix:{backend}): "
             "closed before END_REQUEST",
             "GET /f.php?mode=truncate HTTP/1.1")
    serves_on(srv)


def test_no_descriptor_leaks_after_faults(srv):
    baseline = settled_count(srv)
    for _ in range(2):
        for mode in ("bighdr", "close", "garbage", "wrongid", "endonly",
                     "truncate", "loop"):
            with srv.connect(10) as c:
                c.send(f"GET /f.php?mode={mode} HTTP/1.1\r\n"
                       "Host: localhost\r\nConnection: close\r\n\r\n")
                c.read_to_eof()
        assert get(srv, "/f.php?mode=xsendfile&to=" + q(
            str(srv_private(srv)) + "/small.txt")).body == SMALL
    # a client that leaves while the backend stalls
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(b"GET /f.php?mode=stall&ms=1500 HTTP/1.1\r\nHost: localhost\r\n\r\n")
    time.sleep(0.2)
    s.close()
    assert_back_to(srv, baseline)
    serves_on(srv)


def srv_private(srv):
    for line in srv.config_text.splitlines():
        if line.startswith("x_sendfile_root = "):
            return Path(line.split(" = ", 1)[1])
    raise AssertionError("no x_sendfile_root in the config")


# --- internal redirects ----------------------------------------------------


def test_internal_redirect_to_a_static_file(srv):
    path = "/f.php?mode=location&to=/static.txt"
    r = get(srv, path)
    assert r.status == 200
    assert r.body == STATIC
    assert r.header("Location") is None
    assert r.header("Content-Type") == "text/plain"
    assert r.header("ETag") is not None
    assert b"throw away" not in r.body
    assert f'"GET {path} HTTP/1.1" 200 ' in access_line(
        srv, f"GET {path} HTTP/1.1")


def test_internal_redirect_to_another_script_is_a_get_without_body(srv):
    path = "/f.php?mode=location&to=" + q("/g.php?mode=echo&x=1")
    r = request(srv, "POST", path, body=b"a=1&b=2", headers=(
        "Content-Type: application/x-www-form-urlencoded\r\n"))
    e = echo(r)
    assert e["REQUEST_METHOD"] == "GET"
    assert e["SCRIPT_NAME"] == "/g.php"
    assert e["QUERY_STRING"] == "mode=echo&x=1"
    assert e["CONTENT_LENGTH"] in ("-", "")
    assert e["stdin"] == "0"
    # the client's request, as Apache keeps it
    assert e["REQUEST_URI"] == path
    assert f'"POST {path} HTTP/1.1" 200 ' in access_line(
        srv, f"POST {path} HTTP/1.1")


def test_internal_redirect_through_the_front_controller(srv):
    r = get(srv, "/f.php?mode=location&to=" + q("/pretty/page?mode=echo"),
            host="fc.test")
    e = echo(r)
    assert e["SCRIPT_NAME"] == "/f.php"
    assert e["QUERY_STRING"] == "mode=echo"


def test_internal_redirect_to_a_directory_gets_its_index(srv):
    r = get(srv, "/f.php?mode=location&to=/dir/")
    assert r.status == 200 and r.body == b"dir index\n"


def test_internal_redirect_to_a_missing_file_is_404(srv):
    path = "/f.php?mode=location&to=/missing.txt"
    r = get(srv, path)
    assert r.status == 404
    wait_log(srv, "404 Not Found: /missing.txt", f"GET {path} HTTP/1.1")


def test_internal_redirect_cannot_leave_the_root(srv):
    for to in ("/../outside.txt", "/%2e%2e/outside.txt", "/.hidden"):
        r = get(srv, "/f.php?mode=location&to=" + q(to))
        assert r.status in (400, 403, 404), (to, r.status)
        assert OUTSIDE not in r.body


def test_internal_redirect_loop_ends_in_500(srv):
    path = "/loop.php?mode=loop"
    r = get(srv, path)
    assert r.status == 500
    wait_log(srv, "more than 10 internal redirects, the last to "
             "/loop.php?mode=loop", f"GET {path} HTTP/1.1")
    assert f'"GET {path} HTTP/1.1" 500 ' in access_line(
        srv, f"GET {path} HTTP/1.1")
    serves_on(srv)


def test_internal_redirect_of_a_head_request(srv):
    r = request(srv, "HEAD", "/f.php?mode=location&to=/static.txt")
    assert r.status == 200
    assert r.header("Content-Length") == str(len(STATIC))
    assert r.body == b""
    # the connection stays in step: nothing follows the head
    with srv.connect() as c:
        c.send("HEAD /f.php?mode=location&to=/g.php%3Fmode%3Decho HTTP/1.1\r\n"
               "Host: localhost\r\n\r\n"
               "GET /static.txt HTTP/1.1\r\nHost: localhost\r\n"
               "Connection: close\r\n\r\n")
        head = c.read_response(head=True)
        after = c.read_response()
    assert head.status == 200 and head.body == b""
    assert after.body == STATIC


@pytest.mark.parametrize("query, status, location", [
    ("status=301&to=/static.txt", 301, "/static.txt"),
    ("status=303&to=/g.php", 303, "/g.php"),
    ("to=" + q("http://example.com/x"), 302, "http://example.com/x"),
    ("to=" + q("//example.com/x"), 302, "//example.com/x"),
])
def test_external_redirects_stay_external(srv, query, status, location):
    r = get(srv, "/f.php?mode=location&" + query)
    assert r.status == status
    assert r.header("Location") == location
    assert r.body == b"backend body to throw away\n"


# --- X-Sendfile and X-Accel-Redirect, fault backend ---------------------------


def sendfile_path(srv, header, name):
    if header == "xsendfile":
        return f"/f.php?mode=xsendfile&to={q(str(srv_private(srv)) + name)}"
    return f"/f.php?mode=xaccel&to={q(name)}"


@pytest.mark.parametrize("header", ["xsendfile", "xaccel"])
def test_sendfile_serves_the_file_with_the_backend_headers(srv, header):
    r = get(srv, sendfile_path(srv, header, "/report.bin"))
    assert r.status == 200
    assert r.body == REPORT
    assert r.header("Content-Length") == str(len(REPORT))
    assert r.header("Content-Type") == "application/x-fault-test"
    assert r.header("Content-Disposition") == 'attachment; filename="r.bin"'
    assert r.header("Cache-Control") == "private, max-age=60"
    assert r.header("ETag") and r.header("Last-Modified")
    assert r.header("Accept-Ranges") == "bytes"
    for name in ("X-Sendfile", "X-Accel-Redirect", "Transfer-Encoding"):
        assert r.header(name) is None
    assert str(srv_private(srv)).encode() not in r.raw


@pytest.mark.parametrize("header", ["xsendfile", "xaccel"])
def test_sendfile_range_conditional_and_head(srv, header):
    path = sendfile_path(srv, header, "/report.bin")
    r = get(srv, path, headers="Range: bytes=1000-1099\r\n")
    assert r.status == 206
    assert r.body == REPORT[1000:1100]
    assert r.header("Content-Range") == f"bytes 1000-1099/{len(REPORT)}"
    etag = r.header("ETag")
    r = get(srv, path, headers=f"If-None-Match: {etag}\r\n")
    assert r.status == 304 and r.body == b""
    r = get(srv, path, headers="Range: bytes=999999-\r\n")
    assert r.status == 416
    r = request(srv, "HEAD", path)
    assert r.status == 200
    assert r.header("Content-Length") == str(len(REPORT))
    assert r.body == b""
    # a POST gets the file too (as a GET)
    r = request(srv, "POST", sendfile_path(srv, header, "/small.txt"),
                body=b"x=1")
    assert r.status == 200 and r.body == SMALL


@pytest.mark.parametrize("header, name, status, why", [
    ("xsendfile", "/etc/passwd", 403, "outside x_sendfile_root"),
    ("xsendfile", "/../outside.txt", 403, "'..' in the path"),
    ("xsendfile", "/sub/../../outside.txt", 403, "'..' in the path"),
    ("xsendfile", "/escape", 403,
     "resolves outside x_sendfile_root (symlink)"),
    ("xsendfile", "/escape-rel", 403,
     "resolves outside x_sendfile_root (symlink)"),
    ("xsendfile", "/missing.bin", 404, "no such file"),
    ("xsendfile", "/sub", 403, "not a regular file"),
    ("xaccel", "/../outside.txt", 403,
     "'..' above x_sendfile_root or a bad escape"),
    ("xaccel", "/%2e%2e/outside.txt", 403,
     "'..' above x_sendfile_root or a bad escape"),
    ("xaccel", "/escape", 403, "resolves outside x_sendfile_root (symlink)"),
    ("xaccel", "/missing.bin", 404, "no such file"),
    ("xaccel", "/.hidden", 403, "names a dot-file"),
    ("xaccel", "relative.txt", 403, "not a path beginning with '/'"),
])
def test_sendfile_refuses_what_leaves_the_root(srv, header, name, status, why):
    if header == "xsendfile" and name != "/etc/passwd":
        value = str(srv_private(srv)) + name
    else:
        value = name
    path = f"/f.php?mode={header}&to={q(value)}"
    r = get(srv, path)
    assert r.status == status, r
    assert OUTSIDE not in r.body and b"root:" not in r.body
    assert r.header("Content-Disposition") is None
    field = "X-Sendfile" if header == "xsendfile" else "X-Accel-Redirect"
    wait_log(srv, f"{field} {value} refused ({status}): {why}",
             f"GET {path} HTTP/1.1")


def test_sendfile_off_sends_the_body_and_hides_the_header(srv):
    path = sendfile_path(srv, "xsendfile", "/report.bin")
    r = get(srv, path, host="off.test")
    assert r.status == 200
    assert r.body == b"backend body, not the file\n"
    assert r.header("X-Sendfile") is None
    assert str(srv_private(srv)).encode() not in r.raw
    wait_log(srv, "X-Sendfile ignored: x_sendfile is off for site off",
             f"GET {path} HTTP/1.1")
    r = get(srv, sendfile_path(srv, "xaccel", "/report.bin"), host="off.test")
    assert r.body == b"backend body, not the file\n"
    assert r.header("X-Accel-Redirect") is None


# --- the same with real PHP --------------------------------------------------


def test_php_x_sendfile(srv):
    f = q(str(srv_private(srv)) + "/report.bin")
    r = get(srv, f"/xsend.php?f={f}", host="php.test")
    assert r.status == 200
    assert r.body == REPORT
    assert r.header("Content-Type") == "application/pdf"
    assert r.header("Content-Disposition") == 'attachment; filename="doc.pdf"'
    assert r.header("X-Sendfile") is None
    r = get(srv, f"/xsend.php?f={f}", host="php.test",
            headers="Range: bytes=-10\r\n")
    assert r.status == 206 and r.body == REPORT[-10:]
    r = request(srv, "HEAD", f"/xsend.php?f={f}", host="php.test")
    assert r.status == 200 and r.body == b""
    assert r.header("Content-Length") == str(len(REPORT))


def test_php_x_accel_redirect(srv):
    r = get(srv, "/xaccel.php?f=/sub/inner.txt", host="php.test")
    assert r.status == 200
    assert r.body == b"inner\n"
    assert r.header("Content-Type").startswith("text/csv")
    r = get(srv, "/xaccel.php?f=/escape", host="php.test")
    assert r.status == 403
    assert OUTSIDE not in r.body


def test_php_x_sendfile_escape_is_refused(srv):
    path = "/xsend.php?f=" + q(str(srv_private(srv)) + "/../outside.txt")
    r = get(srv, path, host="php.test")
    assert r.status == 403
    assert OUTSIDE not in r.body
    wait_log(srv, "refused (403): '..' in the path", f"GET {path} HTTP/1.1")


def test_php_x_sendfile_off(srv):
    f = q(str(srv_private(srv)) + "/report.bin")
    r = get(srv, f"/xsend.php?f={f}", host="phpoff.test")
    assert r.status == 200
    assert r.body == b"php body, not the file\n"
    assert r.header("X-Sendfile") is None
    assert str(srv_private(srv)).encode() not in r.raw
