"""The file cache: small static files served from memory, checked against
the file system on every request.

A file is kept only once its ctime and mtime are two seconds old, so the
module's files are written, then aged before the tests run. Whether a
response came from memory is seen in /proc/PID/io: rchar counts the bytes
foyer read with read(2)/pread(2), which the client's socket (recv) does not
add to, so a file read from disk shows up there and one from memory does
not."""

import os
import time

import pytest

from foyer_http import children_of, open_to_others
from php_fpm import fpm  # noqa: F401 (the module's php-fpm fixture)

SETTLE = 2.2  # seconds: a file younger than 2 s is served but not kept
SIZE = 4096
N = 20


def body(tag):
    line = (tag * 64)[:63] + "\n"
    return (line * (SIZE // 64)).encode()


NAMES = ("same.html", "inplace.html", "renamed.html", "removed.html",
         "swapped.html", "ranged.html", "linked.html", "young.html")
OUTSIDE = body("O")


def get(path, headers=""):
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n"


def prepare_aged(srv):
    for i, name in enumerate(NAMES):
        (srv.root / name).write_bytes(body(chr(ord("a") + i)))
    outside = srv.dir / "outside"
    outside.mkdir()
    (outside / "other.html").write_bytes(OUTSIDE)
    time.sleep(SETTLE)


@pytest.fixture(scope="module")
def srv(make_module_server):
    return make_module_server(prepare=prepare_aged)


def rchar(srv):
    """Bytes read by foyer's serving processes so far."""
    pids = [srv.pid] + (children_of(srv.pid) if srv.forked else [])
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/io") as f:
                for line in f:
                    if line.startswith("rchar:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def fetch_all(c, path, n, expect):
    for _ in range(n):
        c.send(get(path))
        r = c.read_response()
        assert (r.status, r.body) == (200, expect)


def test_unchanged_file_comes_from_memory(srv):
    expect = (srv.root / "same.html").read_bytes()
    # one connection: the same child (and thread) answers every request
    with srv.connect() as c:
        fetch_all(c, "/same.html", 2, expect)
        before = rchar(srv)
        fetch_all(c, "/same.html", N, expect)
        read = rchar(srv) - before
    assert read < SIZE, f"{read} bytes read for {N} cached responses"


def test_cache_off_reads_the_file_each_time(make_server):
    def aged(srv):
        (srv.root / "f.html").write_bytes(body("f"))
        time.sleep(SETTLE)
    srv = make_server(server={"file_cache_size": "0"}, prepare=aged)
    with srv.connect() as c:
        fetch_all(c, "/f.html", 2, body("f"))
        before = rchar(srv)
        fetch_all(c, "/f.html", N, body("f"))
        read = rchar(srv) - before
    assert read >= N * SIZE


def test_write_in_place_with_old_mtime_is_seen(srv):
    p = srv.root / "inplace.html"
    old = os.stat(p)
    with srv.connect() as c:
        fetch_all(c, "/inplace.html", 3, p.read_bytes())
        # same size, same mtime restored afterwards (touch -r): only the
        # ctime tells the change
        new = body("N")
        with open(p, "r+b") as f:
            f.write(new)
        os.utime(p, ns=(old.st_atime_ns, old.st_mtime_ns))
        assert os.stat(p).st_size == old.st_size
        fetch_all(c, "/inplace.html", 2, new)


def test_rename_over_is_seen(srv):
    p = srv.root / "renamed.html"
    with srv.connect() as c:
        fetch_all(c, "/renamed.html", 3, p.read_bytes())
        # as rsync -t does: same size, the old mtime, another inode
        old = os.stat(p)
        tmp = srv.root / ".renamed.tmp"
        tmp.write_bytes(body("R"))
        os.utime(tmp, ns=(old.st_atime_ns, old.st_mtime_ns))
        os.rename(tmp, p)
        fetch_all(c, "/renamed.html", 2, body("R"))


def test_removed_file_is_404(srv):
    p = srv.root / "removed.html"
    with srv.connect() as c:
        fetch_all(c, "/removed.html", 3, p.read_bytes())
        p.unlink()
        c.send(get("/removed.html"))
        assert c.read_response().status == 404


def test_symlink_out_of_the_root_swapped_in_is_refused(srv):
    p = srv.root / "swapped.html"
    with srv.connect() as c:
        fetch_all(c, "/swapped.html", 3, p.read_bytes())
        p.unlink()
        os.symlink(srv.dir / "outside" / "other.html", p)
        c.send(get("/swapped.html"))
        r = c.read_response()
        assert r.status == 403
        assert OUTSIDE not in r.body


def test_symlink_inside_the_root_swapped_in_serves_its_target(srv):
    p = srv.root / "linked.html"
    with srv.connect() as c:
        fetch_all(c, "/linked.html", 3, p.read_bytes())
        p.unlink()
        os.symlink("ranged.html", p)
        fetch_all(c, "/linked.html", 2, (srv.root / "ranged.html").read_bytes())


def test_ranges_conditionals_and_head_from_memory(srv):
    data = (srv.root / "ranged.html").read_bytes()
    with srv.connect() as c:
        fetch_all(c, "/ranged.html", 3, data)
        before = rchar(srv)
        c.send(get("/ranged.html", "Range: bytes=100-199\r\n"))
        r = c.read_response()
        assert (r.status, r.body) == (206, data[100:200])
        assert r.header("Content-Range") == f"bytes 100-199/{SIZE}"
        c.send(get("/ranged.html", "Range: bytes=-10\r\n"))
        r = c.read_response()
        assert (r.status, r.body) == (206, data[-10:])
        c.send(get("/ranged.html", f"Range: bytes={SIZE}-\r\n"))
        assert c.read_response().status == 416
        c.send(get("/ranged.html"))
        etag = c.read_response().header("ETag")
        c.send(get("/ranged.html", f"If-None-Match: {etag}\r\n"))
        r = c.read_response()
        assert (r.status, r.body) == (304, b"")
        c.send(f"HEAD /ranged.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = c.read_response(head=True)
        assert r.status == 200
        assert r.header("Content-Length") == str(SIZE)
        read = rchar(srv) - before
    assert read < SIZE


def test_young_file_is_served_but_not_kept(srv):
    p = srv.root / "young.html"
    with srv.connect() as c:
        fetch_all(c, "/young.html", 2, p.read_bytes())
        # Rewritten now: served fresh, and read from disk every time while
        # its timestamps are within the last two seconds. (A pass slower
        # than that proves nothing, and is tried again.)
        for attempt in range(3):
            new = body("Y" if attempt % 2 == 0 else "Z")
            p.write_bytes(new)
            t0 = time.monotonic()
            before = rchar(srv)
            fetch_all(c, "/young.html", 3, new)
            read = rchar(srv) - before
            if time.monotonic() - t0 < 1.5:
                break
        else:
            pytest.fail("three requests never ran within 1.5 s")
    assert read >= 3 * SIZE


# --- PHP scripts: known by one stat, never read by foyer ---------------------

PHP_NAMES = ("fc-keep.php", "fc-gone.php", "fc-swap.php", "fc-dir.php")


@pytest.fixture(scope="module")
def php(make_module_server, fpm):  # noqa: F811
    # the module's php-fpm serves every mode: undo what the last one did
    for name in PHP_NAMES:
        p = fpm.www / name
        if p.is_dir() and not p.is_symlink():
            p.rmdir()
        elif p.exists() or p.is_symlink():
            p.unlink()
        p.write_text('<?php echo "script ' + name + '\\n";')
    (fpm.dir / "fc-outside.php").write_text('<?php echo "outside\\n";')
    open_to_others(fpm.dir)
    time.sleep(SETTLE)
    return make_module_server(sites=[("default", fpm.site("php"))],
                              extra=fpm.pool("php", "main"))


def php_get(c, path):
    c.send(get(path))
    return c.read_response()


def run_script(c, path, times=3):
    """Runs the script a few times: from the second on, foyer knows it."""
    for _ in range(times):
        assert php_get(c, path).status == 200


def test_script_checked_again_on_every_request(php):
    with php.connect() as c:
        for _ in range(3):
            r = php_get(c, "/fc-keep.php")
            assert (r.status, r.body) == (200, b"script fc-keep.php\n")


def test_removed_script_is_404_not_sent_to_php(php, fpm):  # noqa: F811
    with php.connect() as c:
        run_script(c, "/fc-gone.php")
        (fpm.www / "fc-gone.php").unlink()
        r = php_get(c, "/fc-gone.php")
        assert r.status == 404
        # foyer's own page: PHP-FPM would have said "File not found."
        assert b"<h1>Not Found</h1>" in r.body


def test_script_swapped_for_a_symlink_out_of_the_root_is_403(php, fpm):  # noqa: F811
    p = fpm.www / "fc-swap.php"
    with php.connect() as c:
        run_script(c, "/fc-swap.php")
        p.unlink()
        os.symlink(fpm.dir / "fc-outside.php", p)
        r = php_get(c, "/fc-swap.php")
        assert r.status == 403
        assert b"outside" not in r.body


def test_script_replaced_by_a_directory_is_not_run(php, fpm):  # noqa: F811
    p = fpm.www / "fc-dir.php"
    with php.connect() as c:
        run_script(c, "/fc-dir.php")
        p.unlink()
        p.mkdir()
        os.chmod(p, 0o755)
        r = php_get(c, "/fc-dir.php")
        # a directory without a slash: the redirect any directory gets
        assert r.status == 301
        assert r.header("Location").endswith("/fc-dir.php/")
