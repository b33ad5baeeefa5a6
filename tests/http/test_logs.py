"""Access log formats, the error log, and reopening both on SIGUSR1."""

import re
import signal
import socket
import subprocess
import time
from datetime import datetime

from foyer_http import STOP_TIMEOUT, free_port, poll

H = "Host: localhost\r\n"
BODY = "0123456789" * 12 + "\n"  # 121 bytes

TIME = r"\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]"


def fetch(srv, request):
    """Sends one request, reads until the server closes; returns the bytes
    the client received."""
    with srv.connect() as c:
        c.send(request)
        return c.read_to_eof()


def assert_recent(stamp):
    t = datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    assert abs(t - time.time()) < 300, stamp


def test_combined_is_the_default(make_server):
    srv = make_server(files={"page.txt": BODY})
    received = fetch(
        srv,
        "GET /page.txt?x=1 HTTP/1.1\r\n" + H
        + "Referer: http://ref.example/from\r\n"
        + "User-Agent: foyer-test/1.0 (raw)\r\n"
        + "Connection: close\r\n\r\n",
    )
    assert received.startswith(b"HTTP/1.1 200 ")
    (line,) = srv.wait_access_lines(1)
    m = re.fullmatch(
        r'127\.0\.0\.1 - - ' + TIME
        + r' "GET /page\.txt\?x=1 HTTP/1\.1" 200 (\d+)'
        r' "http://ref\.example/from" "foyer-test/1\.0 \(raw\)"',
        line,
    )
    assert m, line
    assert_recent(m.group(1))
    assert int(m.group(2)) == len(received)  # %O: every byte sent


def test_combined_with_curl_and_dashes(make_server):
    srv = make_server(files={"page.txt": BODY})
    subprocess.run(["curl", "-sS", "-o", "/dev/null", "-A", "", srv.url("/nothing")],
                   timeout=10, check=True)
    (line,) = srv.wait_access_lines(1)
    assert re.fullmatch(
        r'127\.0\.0\.1 - - ' + TIME + r' "GET /nothing HTTP/1\.1" 404 \d+ "-" "-"',
        line,
    ), line


def test_log_escapes_quotes_backslashes_and_8bit(make_server):
    srv = make_server(files={"page.txt": BODY})
    fetch(srv, "GET /page.txt HTTP/1.1\r\n" + H
          + 'User-Agent: evil" \\ \xe9\r\nConnection: close\r\n\r\n')
    (line,) = srv.wait_access_lines(1)
    assert line.endswith(r'"evil\" \\ \xe9"'), line


def test_common_format(make_server):
    """Debian's common: %h %l %u %t "%r" %>s %O"""
    srv = make_server(sites=[("default", {"log_format": "common"})],
                      files={"page.txt": BODY})
    got = fetch(srv, "GET /page.txt HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    head = fetch(srv, "HEAD /page.txt HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    lines = srv.wait_access_lines(2)
    assert re.fullmatch(
        r'127\.0\.0\.1 - - ' + TIME + rf' "GET /page\.txt HTTP/1\.1" 200 {len(got)}',
        lines[0],
    ), lines[0]
    assert re.fullmatch(
        r'127\.0\.0\.1 - - ' + TIME + rf' "HEAD /page\.txt HTTP/1\.1" 200 {len(head)}',
        lines[1],
    ), lines[1]


def test_vhost_combined_format(make_server):
    srv = make_server(
        sites=[("www.example.test", {"server_name": "www.example.test",
                                     "log_format": "vhost_combined"})],
        files={"page.txt": BODY},
    )
    fetch(srv, "GET /page.txt HTTP/1.1\r\nHost: www.example.test\r\n"
          "User-Agent: ua\r\nConnection: close\r\n\r\n")
    (line,) = srv.wait_access_lines(1)
    assert re.fullmatch(
        rf'www\.example\.test:{srv.port} 127\.0\.0\.1 - - ' + TIME
        + r' "GET /page\.txt HTTP/1\.1" 200 \d+ "-" "ua"',
        line,
    ), line


def test_custom_format(make_server):
    srv = make_server(
        sites=[("custom.test", {"server_name": "custom.test",
                                "log_format": "%D %v %b %>s %m %U%q"})],
        files={"page.txt": BODY},
    )
    fetch(srv, "GET /page.txt?k=v HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    fetch(srv, "GET /missing HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    fetch(srv, "HEAD /page.txt HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    lines = srv.wait_access_lines(3)
    assert re.fullmatch(r"\d+ custom\.test 121 200 GET /page\.txt\?k=v", lines[0]), lines[0]
    assert re.fullmatch(r"\d+ custom\.test \d+ 404 GET /missing", lines[1]), lines[1]
    # %b is "-" when no body was sent
    assert re.fullmatch(r"\d+ custom\.test - 200 HEAD /page\.txt", lines[2]), lines[2]


def test_local_address_and_port(make_server):
    """%A and %p: the connection's local end, for a listener bound to one
    address and for a wildcard one (reached here at 127.0.0.2)."""
    wild = free_port()
    srv = make_server(
        sites=[("default", {"log_format": "%A %p %U"})],
        files={"page.txt": BODY},
        extra=f"\n[server]\nlisten = 0.0.0.0:{wild}\n",
    )
    req = b"GET /page.txt HTTP/1.1\r\n" + H.encode() + b"Connection: close\r\n\r\n"
    fetch(srv, req.decode())
    with socket.create_connection(("127.0.0.2", wild), timeout=5) as s:
        s.sendall(req)
        while s.recv(65536):
            pass
    lines = srv.wait_access_lines(2)
    assert sorted(lines) == sorted([f"127.0.0.1 {srv.port} /page.txt",
                                    f"127.0.0.2 {wild} /page.txt"]), lines


def test_every_request_of_a_connection_is_logged(make_server):
    srv = make_server(files={"page.txt": BODY})
    with srv.connect() as c:
        c.send(("GET /page.txt HTTP/1.1\r\n" + H + "\r\n") * 3
               + "GET /gone HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
        c.read_to_eof()
    lines = srv.wait_access_lines(4)
    assert [l.split('"')[1] for l in lines] == ["GET /page.txt HTTP/1.1"] * 3 + [
        "GET /gone HTTP/1.1"]
    assert [l.split('"')[2].split()[0] for l in lines] == ["200"] * 3 + ["404"]


def test_bad_request_is_logged(make_server):
    srv = make_server()
    fetch(srv, "GET / HTTP/1.1\r\n\r\n")  # no Host
    (line,) = srv.wait_access_lines(1)
    assert '"GET / HTTP/1.1" 400 ' in line, line


def test_reopen_on_sigusr1(make_server):
    srv = make_server(files={"page.txt": BODY})
    fetch(srv, "GET /page.txt?one HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    srv.wait_access_lines(1)
    rotated = srv.dir / "access.log.1"
    srv.access_log_path.rename(rotated)
    err_rotated = srv.dir / "error.log.1"
    srv.error_log_path.rename(err_rotated)
    old_children = srv.children()
    srv.send_signal(signal.SIGUSR1)
    assert poll(srv.access_log_path.exists), "access log not reopened"
    assert poll(srv.error_log_path.exists), "error log not reopened"
    if srv.forked:
        # Under an MPM, SIGUSR1 is a graceful restart: children started
        # before it keep the old files until they exit, as Apache's do.
        assert poll(lambda: not set(old_children) & set(srv.children()),
                    STOP_TIMEOUT), (
            f"children {old_children} still run after a graceful restart "
            f"(now {srv.children()})\n" + srv.diagnostics())
    fetch(srv, "GET /page.txt?three HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n")
    new = srv.wait_access_lines(1)
    assert len(new) == 1 and "?three" in new[0], new
    old = srv.access_lines(rotated)
    assert len(old) == 1 and "?one" in old[0], old
    # the error log goes to the new file too
    with srv.connect() as c:
        c.send("GET / HTTP/2.0\r\n" + H + "\r\n")
        assert c.read_response().status == 505
        mark = f"[client 127.0.0.1:{c.local_port}"
    assert srv.wait_error_log(mark), srv.error_log()
    assert mark not in err_rotated.read_text()


def test_error_log_format(make_server):
    srv = make_server()
    with srv.connect() as c:
        c.send("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        assert c.read_response().status == 400
        port = c.local_port
    assert srv.wait_error_log(f"[client 127.0.0.1:{port}]")
    line = next(l for l in srv.error_log().splitlines()
                if f"[client 127.0.0.1:{port}]" in l)
    # Apache's shape: [Fri Nov 27 04:40:50.123456 2026] [module:level] [pid N] ...
    assert re.match(r"\[\w{3} \w{3} [ \d]\d \d{2}:\d{2}:\d{2}(\.\d+)? \d{4}\] \[", line), line
    # the process that served the connection: the only one with -X, a
    # child under an MPM
    pid = int(re.search(r"\[pid (\d+)", line).group(1))
    assert pid in ([srv.pid] if not srv.forked else srv.children()), line
