"""Request bodies on their way to PHP: in memory up to
client_body_buffer_size, beyond it in an unlinked temp file in
client_body_temp_path, then sent to a private php-fpm8.2 (php_fpm.py) as
STDIN records with the exact CONTENT_LENGTH.

Under -X and each MPM unless a test says otherwise. input.php reads
php://input in a loop and answers its length and md5, so the bodies are
checked end to end; the descriptors foyer holds in the temp directory show
which bodies went to a file.
"""

import hashlib
import json
import os
import resource
import socket
import struct
import subprocess
import threading
import time

import pytest

from foyer_http import fd_targets, poll
from php_fpm import fpm  # noqa: F401 (the module's php-fpm fixture)
from php_fpm import json_body, vm_rss_kb

BUFFER = 64 * 1024  # client_body_buffer_size of these servers

INPUT_PHP = r"""<?php
$h = hash_init('md5');
$n = 0;
$in = fopen('php://input', 'rb');
while (!feof($in)) {
    $b = fread($in, 1 << 20);
    if ($b === false || $b === '')
        break;
    $n += strlen($b);
    hash_update($h, $b);
}
header('Content-Type: application/json');
echo json_encode(['len' => $n, 'md5' => hash_final($h),
                  'content_length' => $_SERVER['CONTENT_LENGTH'] ?? null]);
"""

# PHP must not stop a 1 GiB body: no post_max_size, and php://input read
# lazily instead of swallowed before the script runs.
RAW_INPUT = {"php_admin_value.post_max_size": 0,
             "php_admin_value.enable_post_data_reading": 0}
# PHP-FPM keeps admin values in the child for its next requests: sites that
# want forms parsed set PHP's defaults back.
FORM_INPUT = {"php_admin_value.post_max_size": "8M",
              "php_admin_value.enable_post_data_reading": 1}


def temp_dir(path):
    """A client_body_temp_path the children (nobody, under root) can
    write."""
    path.mkdir()
    os.chmod(path, 0o1777)
    p = path.parent
    while p != p.parent:
        os.chmod(p, os.stat(p).st_mode | 0o001)
        p = p.parent
    return path


def body_files(srv, directory):
    """What foyer's processes hold open in directory now."""
    out = [t for t in fd_targets([srv.pid] + srv.children())
           if t.startswith(str(directory) + "/")]
    return out


def body_server(factory, fpm, tmp, mode=None, **server):  # noqa: F811
    (fpm.www / "input.php").write_text(INPUT_PHP)
    settings = {"client_body_buffer_size": "64k",
                "client_body_temp_path": str(tmp),
                "limit_request_body": "2g"}
    settings.update(server)
    sites = [("default", fpm.site("php", **RAW_INPUT)),
             ("files", fpm.site("php", server_name="files.test",
                                **FORM_INPUT))]
    return factory(server=settings, sites=sites, mode=mode,
                   extra=fpm.pool("php", "main"))


@pytest.fixture(scope="module")
def php(make_module_server, fpm, tmp_path_factory):  # noqa: F811
    tmp = temp_dir(tmp_path_factory.mktemp("bodies") / "t")
    srv = body_server(make_module_server, fpm, tmp)
    srv.body_dir = tmp
    return srv


def post(srv, body, path="/input.php", host="localhost", headers="",
         timeout=30):
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{headers}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    with srv.connect(timeout) as c:
        c.send(head.encode() + body)
        return c.read_response()


def chunked(parts):
    out = b""
    for p in parts:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


def check_input(resp, body):
    j = json_body(resp)
    assert j["len"] == len(body)
    assert j["md5"] == hashlib.md5(body).hexdigest()
    assert j["content_length"] == str(len(body))


# --- around the threshold ---------------------------------------------------


@pytest.mark.parametrize("size", [BUFFER - 1, BUFFER, BUFFER + 1,
                                  3 * BUFFER + 12345])
def test_body_around_the_threshold_reaches_php(php, size):
    body = os.urandom(size)
    check_input(post(php, body), body)


def test_chunked_body_above_the_threshold_reaches_php(php):
    parts = [os.urandom(n) for n in (1, 70000, 5, 65536, 0x12345)]
    parts = [p for p in parts if p]
    body = b"".join(parts)
    head = ("POST /input.php HTTP/1.1\r\nHost: localhost\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    with php.connect(30) as c:
        c.send(head.encode() + chunked(parts))
        check_input(c.read_response(), body)


def partial_upload(srv, size, sent):
    """A connection that announced size body bytes and sent only sent."""
    c = srv.connect(30)
    c.send(f"POST /input.php HTTP/1.1\r\nHost: localhost\r\n"
           f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode()
           + b"a" * sent)
    return c


def test_only_bodies_above_the_threshold_use_a_file(php):
    """A body that fits stays in memory; one that does not is held in an
    unlinked file in client_body_temp_path while it arrives, and the file
    is closed with the request."""
    d = php.body_dir
    # the previous test's file is closed just after its response went out
    assert poll(lambda: body_files(php, d) == []), body_files(php, d)
    with partial_upload(php, BUFFER, BUFFER - 1) as small:
        time.sleep(0.3)  # let it arrive; what is checked is its absence
        assert body_files(php, d) == []
        small.send(b"b")
        assert json_body(small.read_response())["len"] == BUFFER
    with partial_upload(php, 4 * BUFFER, BUFFER + 1) as big:
        files = poll(lambda: body_files(php, d))
        assert len(files) == 1, files
        assert files[0].endswith("(deleted)"), files
        assert os.listdir(d) == []  # no name left behind
        big.send(b"b" * (3 * BUFFER - 1))
        j = json_body(big.read_response())
        assert j["len"] == 4 * BUFFER
        assert j["md5"] == hashlib.md5(b"a" * (BUFFER + 1)
                                       + b"b" * (3 * BUFFER - 1)).hexdigest()
    assert poll(lambda: body_files(php, d) == [])


def test_client_leaving_mid_upload_closes_the_file(php):
    d = php.body_dir
    c = partial_upload(php, 10 * BUFFER, 2 * BUFFER)
    assert poll(lambda: len(body_files(php, d)) == 1)
    c.close()
    assert poll(lambda: body_files(php, d) == [])
    body = os.urandom(2 * BUFFER)
    check_input(post(php, body), body)


def test_multipart_upload_above_the_threshold(php):
    data = os.urandom(5 * BUFFER + 7)
    boundary = "----foyer-body-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="title"\r\n\r\nbig one\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="blob"; filename="blob.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    j = json_body(post(php, body, path="/env.php", host="files.test",
                       headers="Content-Type: multipart/form-data; "
                               f"boundary={boundary}\r\n"))
    assert j["post"] == {"title": "big one"}
    f = j["files"]["blob"]
    assert f["error"] == 0, f
    assert f["size"] == len(data)
    assert f["md5"] == hashlib.md5(data).hexdigest()
    assert j["server"]["CONTENT_LENGTH"] == str(len(body))


# --- temp files that cannot be made or written -------------------------------


def test_missing_temp_dir_answers_500(make_server, fpm, tmp_path):  # noqa: F811
    srv = body_server(make_server, fpm, tmp_path / "missing")
    small = os.urandom(BUFFER)
    check_input(post(srv, small), small)
    r = post(srv, os.urandom(BUFFER + 1))
    assert r.status == 500
    assert srv.wait_error_log("could not create a temp file for the "
                              f"request body in {tmp_path / 'missing'}")
    check_input(post(srv, small), small)


def test_write_error_answers_500_and_the_server_lives(make_server, fpm,  # noqa: F811
                                                      tmp_path):
    """RLIMIT_FSIZE on foyer's processes makes the temp file's writes fail
    (EFBIG) as a full disk would (ENOSPC): the request gets 500 and a log
    line, foyer neither dies (SIGXFSZ) nor keeps the descriptor. foyer
    inherits the limit from this process, lowered while it starts (its
    children run as another user, out of prlimit's reach)."""
    d = temp_dir(tmp_path / "bodies")
    limit = 4 * BUFFER
    saved = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, saved[1]))
    try:
        srv = body_server(make_server, fpm, d)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, saved)
    r = post(srv, os.urandom(limit + BUFFER))
    assert r.status == 500
    assert srv.wait_error_log("could not write the request body to its "
                              f"temp file in {d}")
    assert poll(lambda: body_files(srv, d) == [])
    body = os.urandom(limit - BUFFER)
    check_input(post(srv, body), body)


# --- a kept connection that dies under a file-backed body -------------------


def read_exact(sock, n):
    out = bytearray()
    while len(out) < n:
        b = sock.recv(n - len(out))
        if not b:
            raise EOFError
        out += b
    return bytes(out)


def read_record(sock):
    _, rtype, _, clen, pad = struct.unpack(">BBHHBx", read_exact(sock, 8))
    content = read_exact(sock, clen)
    read_exact(sock, pad)
    return rtype, content


def record(rtype, content):
    return struct.pack(">BBHHBx", 1, rtype, 1, len(content), 0) + content


def parse_params(data):
    out, i = {}, 0

    def length():
        nonlocal i
        if data[i] < 128:
            i += 1
            return data[i - 1]
        n = struct.unpack(">I", data[i:i + 4])[0] & 0x7fffffff
        i += 4
        return n

    while i < len(data):
        nl = length()
        vl = length()
        out[data[i:i + nl].decode()] = data[i + nl:i + nl + vl].decode()
        i += nl + vl
    return out


class DroppingBackend:
    """A FastCGI responder on a unix socket. It answers the first request
    of each connection (length and md5 of STDIN, and CONTENT_LENGTH) and
    keeps the connection when asked to; on the second request of a
    connection it reads DROP_AFTER STDIN bytes and closes, as PHP-FPM does
    when the child under a kept connection exits."""

    DROP_AFTER = 100000

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(16)
        self.dropped = 0
        self.answered = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        with conn:
            served = 0
            try:
                while self.one(conn, served):
                    served += 1
            except (EOFError, OSError):
                pass

    def one(self, conn, served):
        rtype, begin = read_record(conn)
        assert rtype == 1
        keep = begin[2] & 1
        params = b""
        while True:
            rtype, c = read_record(conn)
            assert rtype == 4
            if not c:
                break
            params += c
        params = parse_params(params)
        md5, n = hashlib.md5(), 0
        while True:
            rtype, c = read_record(conn)
            assert rtype == 5
            if not c:
                break
            md5.update(c)
            n += len(c)
            if served >= 1 and n >= self.DROP_AFTER:
                self.dropped += 1
                return False
        body = json.dumps({"len": n, "md5": md5.hexdigest(),
                           "content_length": params.get("CONTENT_LENGTH")})
        self.answered.append(n)
        out = b"Content-Type: application/json\r\n\r\n" + body.encode()
        conn.sendall(record(6, out) + record(3, b"\0" * 8))
        return bool(keep)

    def close(self):
        self.sock.close()


def test_retry_on_a_fresh_connection_resends_a_file_body(make_server, fpm,  # noqa: F811
                                                         tmp_path):
    """The second request of a client connection goes out on the kept
    backend connection, which the backend closes after 100 kB of a 3 MB
    body held in a file: foyer sends it again, from its first byte, on a
    fresh connection."""
    backend = DroppingBackend(tmp_path / "fake.sock")
    try:
        d = temp_dir(tmp_path / "bodies")
        (fpm.www / "input.php").write_text(INPUT_PHP)
        srv = make_server(
            server={"client_body_buffer_size": "64k",
                    "client_body_temp_path": str(d)},
            sites=[("default", fpm.site("fake"))],
            extra=fpm.pool("fake", f"unix:{backend.path}", keep_alive=1))
        first = os.urandom(2 * BUFFER)
        second = os.urandom(3 << 20)
        with srv.connect(30) as c:
            for body in (first, second):
                c.send(b"POST /input.php HTTP/1.1\r\nHost: localhost\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(body) + body)
                check_input(c.read_response(), body)
        assert backend.dropped == 1
        assert backend.answered == [len(first), len(second)]
        assert srv.wait_error_log("kept connection closed, retrying")
    finally:
        backend.close()


# --- 1 GiB --------------------------------------------------------------------

GIB = 1 << 30
RSS_SLACK_KB = 64 * 1024


def foyer_rss_kb(srv):
    return sum(vm_rss_kb(p) for p in [srv.pid] + srv.children())


@pytest.mark.parametrize("mode", ["single", "event"])
def test_1gib_upload_with_flat_memory(make_mpm_server, fpm, tmp_path,  # noqa: F811
                                      monkeypatch, mode):
    """A 1 GiB body, generated as it is sent, reaches PHP whole while
    foyer's resident memory (all its processes) stays within 64 MiB of
    what it was idle. Under -X and event only: each run moves 1 GiB
    through foyer, PHP and two temp files."""
    # ASan keeps freed blocks in a quarantine (256 MiB by default): that
    # is the sanitizer's memory, not foyer's, so keep it small here.
    asan = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS",
                       (asan + ":" if asan else "") + "quarantine_size_mb=4")
    d = temp_dir(tmp_path / "bodies")
    srv = body_server(make_mpm_server, fpm, d, mode=mode,
                      request_body_timeout=60)
    warm = os.urandom(4 * BUFFER)
    check_input(post(srv, warm), warm)
    idle = foyer_rss_kb(srv)

    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], foyer_rss_kb(srv))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    md5 = hashlib.md5()
    block = bytearray(os.urandom(1 << 20))
    try:
        with srv.connect(300) as c:
            c.send(b"POST /input.php HTTP/1.1\r\nHost: localhost\r\n"
                   b"Content-Length: %d\r\nConnection: close\r\n\r\n" % GIB)
            for i in range(GIB >> 20):
                block[:8] = i.to_bytes(8, "big")
                md5.update(block)
                c.sock.sendall(block)
            r = c.read_response()
    finally:
        done.set()
        sampler.join()
    j = json_body(r)
    assert j["len"] == GIB
    assert j["content_length"] == str(GIB)
    assert j["md5"] == md5.hexdigest()
    assert peak[0] - idle < RSS_SLACK_KB, (idle, peak[0])
    assert foyer_rss_kb(srv) - idle < RSS_SLACK_KB
    assert poll(lambda: body_files(srv, d) == [])


# --- slow bodies --------------------------------------------------------------

# Slow connections per mode, below what each mode can hold at once: -X and
# event multiplex them in a loop (event sized below for 2 x 100), prefork
# and worker hold a process or thread each (MaxRequestWorkers 16 and 8 in
# these tests), and the probes need some left.
SLOW = {"single": 60, "event": 60, "prefork": 8, "worker": 4}
EVENT_ROOMY = {"ThreadsPerChild": 25, "ServerLimit": 2,
               "MaxRequestWorkers": 50, "MinSpareThreads": 25,
               "MaxSpareThreads": 50, "AsyncRequestWorkerFactor": 3}


def test_slow_bodies_do_not_reach_php(make_server, fpm, mode,  # noqa: F811
                                      tmp_path):
    """slowhttptest -B (R-U-Dead-Yet) trickles bodies into a PHP URL for
    10 seconds. PHP-FPM (seen through max_connections = 2, as a 2-child
    pool) never sees those requests, since a body is read whole before a
    backend connection is taken, and normal PHP requests are still
    answered while they trickle. SLOW says how many slow connections each
    mode gets, and why."""
    d = temp_dir(tmp_path / "bodies")
    (fpm.www / "input.php").write_text(INPUT_PHP)
    srv = make_server(
        server={"client_body_temp_path": str(d), "request_body_timeout": 30},
        sites=[("default", fpm.site("php", **FORM_INPUT))],
        mpm=EVENT_ROOMY if mode == "event" else None,
        extra=fpm.pool("php", "main", max_connections=2, queue_timeout=10))
    marker = f"slowbody-{mode}-{os.getpid()}"
    methods = fpm.dir / "tmp" / f"{marker}.log"
    # Every request that runs the attacked script leaves a line there.
    (fpm.www / f"{marker}.php").write_text(
        f"<?php file_put_contents('{methods}', $_SERVER['REQUEST_METHOD'] "
        ". ' ' . $_SERVER['QUERY_STRING'] . \"\\n\", FILE_APPEND);\n"
        "echo json_encode(['post' => $_POST]);\n")
    args = ["slowhttptest", "-B", "-c", str(SLOW[mode]), "-r", "100",
            "-l", "10", "-i", "1", "-s", "1000000", "-x", "10", "-p", "5",
            "-u", srv.url(f"/{marker}.php")]
    attack = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL)
    try:
        # the slow connections are open and trickling
        assert poll(lambda: open_bodies(srv) >= SLOW[mode], 10), \
            open_bodies(srv)
        for i in range(3):
            j = json_body(post(srv, b"probe=%d" % i,
                               path=f"/{marker}.php?p={i}",
                               headers="Content-Type: application/"
                                       "x-www-form-urlencoded\r\n",
                               timeout=20))
            assert j["post"] == {"probe": str(i)}
            assert open_bodies(srv) >= SLOW[mode] // 2
            time.sleep(1)
    finally:
        attack.kill()
        attack.wait()
    # What ran in PHP: our probes, slowhttptest's own probes (complete
    # GET requests) perhaps, none of the POSTs whose bodies trickled.
    ran = methods.read_text().splitlines()
    assert [l for l in ran if l.startswith("POST ")] == \
        ["POST p=0", "POST p=1", "POST p=2"], ran
    assert all(l == "GET " for l in ran if not l.startswith("POST ")), ran


def open_bodies(srv):
    """Client connections foyer has accepted and holds now (established
    TCP sockets on its port owned by one of its processes): during the
    attack, the slow uploads."""
    inodes = {t[8:-1] for t in fd_targets([srv.pid] + srv.children())
              if t.startswith("socket:[")}
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if (int(cols[1].split(":")[1], 16) == srv.port
                    and cols[3] == "01" and cols[9] in inodes):
                n += 1
    return n
