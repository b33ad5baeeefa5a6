"""Static files and the router: path safety, index files, redirects, the
front controller, conditional and range requests, large files."""

import hashlib
import os
import subprocess
from email.utils import formatdate, parsedate_to_datetime

import pytest
import requests

H = "Host: localhost\r\n"

DATA = bytes(range(256)) * 4 + b"tail"  # 1028 bytes, every byte value
SIZE = len(DATA)
BIG_SIZE = 20 * 1024 * 1024

FILES = {
    "index.html": "<p>root index</p>\n",
    "style.css": "body { color: #333 }\n",
    "notes.txt": "plain text\n",
    "data.json": '{"a": 1}\n',
    "image.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 32,
    "data.bin": DATA,
    "hello world.txt": "spaced\n",
    "caf\u00e9.txt": "accent\n",
    "sub/index.htm": "<p>sub index.htm</p>\n",
    "sub/page.txt": "sub page\n",
    "sub/.hidden": "hidden\n",
    "both/index.html": "both html\n",
    "both/index.htm": "both htm\n",
    "empty/file.txt": "no index here\n",
    ".htaccess": "Deny from all\n",
    ".env": "SECRET=1\n",
    ".git/config": "[core]\n",
    ".well-known/security.txt": "Contact: mailto:security@example.com\n",
}


def prepare_outside_link(srv):
    outside = srv.dir / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the root\n")
    os.symlink(outside / "secret.txt", srv.root / "escape.txt")
    return outside


def prepare_links(srv):
    outside = prepare_outside_link(srv)
    os.symlink(outside, srv.root / "escape-dir")
    os.symlink("notes.txt", srv.root / "inside-link.txt")
    with open(srv.root / "big.bin", "wb") as f:
        for _ in range(BIG_SIZE >> 20):
            f.write(os.urandom(1 << 20))


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(
        sites=[("default", {"index": "index.html index.htm"})],
        files=FILES,
        prepare=prepare_links,
    )


def raw_get(srv, target, headers="", method="GET"):
    return srv.request(
        f"{method} {target} HTTP/1.1\r\n{H}{headers}Connection: close\r\n\r\n",
        head=(method == "HEAD"),
    )


# content types and validators

@pytest.mark.parametrize(
    "path,ctype",
    [
        ("/index.html", "text/html"),
        ("/style.css", "text/css"),
        ("/notes.txt", "text/plain"),
        ("/data.json", "application/json"),
        ("/image.png", "image/png"),
    ],
)
def test_content_type(srv, path, ctype):
    r = requests.get(srv.url(path), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0].strip() == ctype
    assert r.content == (FILES[path[1:]] if isinstance(FILES[path[1:]], bytes)
                         else FILES[path[1:]].encode())


def test_validators_and_accept_ranges(srv):
    r = requests.get(srv.url("/data.bin"), timeout=5)
    assert r.status_code == 200
    assert r.content == DATA
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Length"] == str(SIZE)
    etag = r.headers["ETag"]
    assert etag.startswith('"') or etag.startswith('W/"'), etag
    mtime = os.stat(srv.root / "data.bin").st_mtime
    assert r.headers["Last-Modified"] == formatdate(int(mtime), usegmt=True)


def test_etag_changes_with_content(srv):
    p = srv.root / "changing.txt"
    p.write_text("one\n")
    first = requests.get(srv.url("/changing.txt"), timeout=5).headers["ETag"]
    p.write_text("two, longer\n")
    os.utime(p, (1_000_000_000, 1_000_000_000))
    second = requests.get(srv.url("/changing.txt"), timeout=5)
    assert second.content == b"two, longer\n"
    assert second.headers["ETag"] != first


def test_if_none_match(srv):
    etag = requests.get(srv.url("/data.bin"), timeout=5).headers["ETag"]
    r = raw_get(srv, "/data.bin", f"If-None-Match: {etag}\r\n")
    assert r.status == 304
    assert r.body == b""
    assert r.header("ETag") == etag
    r = raw_get(srv, "/data.bin", 'If-None-Match: "nope", ' + etag + "\r\n")
    assert r.status == 304
    r = raw_get(srv, "/data.bin", 'If-None-Match: "nope"\r\n')
    assert (r.status, r.body) == (200, DATA)


def test_if_modified_since(srv):
    lm = requests.get(srv.url("/data.bin"), timeout=5).headers["Last-Modified"]
    r = raw_get(srv, "/data.bin", f"If-Modified-Since: {lm}\r\n")
    assert r.status == 304
    assert r.body == b""
    older = formatdate(parsedate_to_datetime(lm).timestamp() - 86400, usegmt=True)
    r = raw_get(srv, "/data.bin", f"If-Modified-Since: {older}\r\n")
    assert (r.status, r.body) == (200, DATA)


def test_304_keeps_connection_usable(srv):
    etag = requests.get(srv.url("/notes.txt"), timeout=5).headers["ETag"]
    with srv.connect() as c:
        c.send(f"GET /notes.txt HTTP/1.1\r\n{H}If-None-Match: {etag}\r\n\r\n"
               f"GET /style.css HTTP/1.1\r\n{H}\r\n")
        assert c.read_response().status == 304
        assert c.read_response().body == FILES["style.css"].encode()


# ranges

def test_range_first_bytes(srv):
    r = raw_get(srv, "/data.bin", "Range: bytes=0-99\r\n")
    assert r.status == 206
    assert r.header("Content-Range") == f"bytes 0-99/{SIZE}"
    assert r.header("Content-Length") == "100"
    assert r.body == DATA[:100]


def test_range_middle(srv):
    r = raw_get(srv, "/data.bin", "Range: bytes=500-509\r\n")
    assert r.status == 206
    assert r.header("Content-Range") == f"bytes 500-509/{SIZE}"
    assert r.body == DATA[500:510]


def test_range_suffix(srv):
    r = raw_get(srv, "/data.bin", "Range: bytes=-100\r\n")
    assert r.status == 206
    assert r.header("Content-Range") == f"bytes {SIZE - 100}-{SIZE - 1}/{SIZE}"
    assert r.body == DATA[-100:]


def test_range_open_ended(srv):
    r = raw_get(srv, "/data.bin", "Range: bytes=100-\r\n")
    assert r.status == 206
    assert r.header("Content-Range") == f"bytes 100-{SIZE - 1}/{SIZE}"
    assert r.body == DATA[100:]


def test_range_end_past_size_is_clamped(srv):
    r = raw_get(srv, "/data.bin", f"Range: bytes=1000-{SIZE + 500}\r\n")
    assert r.status == 206
    assert r.header("Content-Range") == f"bytes 1000-{SIZE - 1}/{SIZE}"
    assert r.body == DATA[1000:]


def test_range_unsatisfiable(srv):
    r = raw_get(srv, "/data.bin", f"Range: bytes={SIZE}-\r\n")
    assert r.status == 416
    assert r.header("Content-Range") == f"bytes */{SIZE}"


def test_multi_range_gets_whole_file(srv):
    r = raw_get(srv, "/data.bin", "Range: bytes=0-9,20-29\r\n")
    assert r.status == 200
    assert r.body == DATA


def test_range_with_curl(srv):
    out = subprocess.run(["curl", "-sS", "-r", "10-19", srv.url("/data.bin")],
                         capture_output=True, timeout=10, check=True).stdout
    assert out == DATA[10:20]


def test_head_of_file(srv):
    with srv.connect() as c:
        c.send(f"HEAD /data.bin HTTP/1.1\r\n{H}\r\n"
               f"GET /notes.txt HTTP/1.1\r\n{H}\r\n")
        h = c.read_response(head=True)
        assert h.status == 200
        assert h.header("Content-Length") == str(SIZE)
        assert c.read_response().body == b"plain text\n"


# large file

def big_digest(srv):
    h = hashlib.sha256()
    with open(srv.root / "big.bin", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_large_file_with_requests(srv):
    r = requests.get(srv.url("/big.bin"), timeout=60)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == str(BIG_SIZE)
    assert hashlib.sha256(r.content).hexdigest() == big_digest(srv)


def test_large_file_with_curl(srv, tmp_path):
    out = tmp_path / "big.out"
    subprocess.run(["curl", "-sS", "-o", str(out), srv.url("/big.bin")],
                   timeout=60, check=True)
    assert out.stat().st_size == BIG_SIZE
    assert hashlib.sha256(out.read_bytes()).hexdigest() == big_digest(srv)


def test_large_file_range_then_next_request(srv):
    start = BIG_SIZE // 2 + 7
    with srv.connect(timeout=30) as c:
        c.send(f"GET /big.bin HTTP/1.1\r\n{H}Range: bytes={start}-\r\n\r\n"
               f"GET /notes.txt HTTP/1.1\r\n{H}\r\n")
        r = c.read_response()
        assert r.status == 206
        with open(srv.root / "big.bin", "rb") as f:
            f.seek(start)
            assert r.body == f.read()
        assert c.read_response().body == b"plain text\n"


# paths

@pytest.mark.parametrize(
    "target,body",
    [
        ("/hello%20world.txt", b"spaced\n"),
        ("/caf%C3%A9.txt", b"accent\n"),
        ("/%73tyle.css", FILES["style.css"].encode()),
        ("/sub/../style.css", FILES["style.css"].encode()),
        ("/./style.css", FILES["style.css"].encode()),
        ("/sub/./page.txt", b"sub page\n"),
        ("//sub//page.txt", b"sub page\n"),
        ("/sub/%2e%2e/notes.txt", b"plain text\n"),
        ("/inside-link.txt", b"plain text\n"),
    ],
)
def test_path_normalisation(srv, target, body):
    r = raw_get(srv, target)
    assert (r.status, r.body) == (200, body)


@pytest.mark.parametrize(
    "target",
    ["/../etc/passwd", "/sub/../../etc/passwd", "/%2e%2e/etc/passwd",
     "/sub/%2E%2E/%2E%2E/etc/passwd"],
)
def test_climbing_above_root_is_400(srv, target):
    assert raw_get(srv, target).status == 400


@pytest.mark.parametrize("target", ["/sub%2Fpage.txt", "/notes.txt%00", "/notes%00.txt"])
def test_encoded_slash_and_nul_are_404(srv, target):
    assert raw_get(srv, target).status == 404


@pytest.mark.parametrize("target", ["/bad%zzescape", "/bad%4"])
def test_bad_percent_escape_is_400(srv, target):
    assert raw_get(srv, target).status == 400


@pytest.mark.parametrize(
    "target", ["/.htaccess", "/.env", "/.git/config", "/.git/", "/sub/.hidden",
               "/%2ehtaccess"],
)
def test_dot_files_are_403(srv, target):
    assert raw_get(srv, target).status == 403


def test_well_known_is_served(srv):
    r = raw_get(srv, "/.well-known/security.txt")
    assert r.status == 200
    assert r.body == FILES[".well-known/security.txt"].encode()


@pytest.mark.parametrize("target", ["/escape.txt", "/escape-dir/secret.txt"])
def test_symlink_escaping_root_is_403(srv, target):
    assert raw_get(srv, target).status == 403


def test_follow_symlinks_on(make_server):
    srv = make_server(sites=[("default", {"follow_symlinks": True})],
                      files={"index.html": "x"}, prepare=prepare_outside_link)
    r = raw_get(srv, "/escape.txt")
    assert (r.status, r.body) == (200, b"outside the root\n")


# directories

def test_directory_redirect(srv):
    r = raw_get(srv, "/sub")
    assert r.status == 301
    assert r.header("Location").endswith("/sub/")


def test_directory_redirect_keeps_query(srv):
    r = raw_get(srv, "/sub?a=1&b=two")
    assert r.status == 301
    assert r.header("Location").endswith("/sub/?a=1&b=two")


def test_directory_redirect_followed_by_requests(srv):
    r = requests.get(srv.url("/sub"), timeout=5)
    assert r.status_code == 200
    assert r.text == "<p>sub index.htm</p>\n"
    assert r.history[0].status_code == 301


def test_directory_without_index_is_403(srv):
    assert raw_get(srv, "/empty/").status == 403


def test_index_order(srv):
    r = raw_get(srv, "/both/")
    assert r.body == b"both html\n"
    assert raw_get(srv, "/").body == FILES["index.html"].encode()
    assert raw_get(srv, "/sub/").body == b"<p>sub index.htm</p>\n"


def test_index_order_reversed(make_server):
    srv = make_server(sites=[("default", {"index": "index.htm index.html"})],
                      files={"both/index.html": "html", "both/index.htm": "htm"})
    assert raw_get(srv, "/both/").body == b"htm"


def test_missing_file_is_404(srv):
    r = raw_get(srv, "/no/such/file.txt")
    assert r.status == 404
    assert (r.header("Content-Type") or "").startswith("text/html")


# front controller

@pytest.fixture(scope="module")
def fc(make_module_server):
    return make_module_server(
        sites=[("default", {"front_controller": "/index.html"})],
        files={"index.html": "controller\n", "style.css": "css\n",
               "dir/index.html": "dir index\n", ".env": "x"},
    )


@pytest.mark.parametrize("target", ["/no/such/page", "/2024/01/hello-world/",
                                    "/missing.css?v=3"])
def test_front_controller_for_missing_paths(fc, target):
    r = raw_get(fc, target)
    assert (r.status, r.body) == (200, b"controller\n")


def test_front_controller_leaves_files_alone(fc):
    assert raw_get(fc, "/style.css").body == b"css\n"
    assert raw_get(fc, "/dir/").body == b"dir index\n"


def test_front_controller_keeps_dot_files_forbidden(fc):
    assert raw_get(fc, "/.env").status == 403


def test_front_controller_missing_controller_is_404(make_server):
    srv = make_server(sites=[("default", {"front_controller": "/app.html"})],
                      files={"style.css": "css"})
    assert raw_get(srv, "/anything").status == 404
