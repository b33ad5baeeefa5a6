"""The FastCGI codec against the real php-fpm8.2: a small C client built
from foyer's codec (tests/http/fcgi_codec_client.c, linked with the
libfoyer.a next to FOYER_BIN) sends requests to a private FPM pool and
prints what it decoded. Needs Debian's php8.2-fpm; without it the tests
fail, they are never skipped."""

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from foyer_http import FOYER_BIN, ROOT

FPM_NAMES = ("php-fpm8.2", "/usr/sbin/php-fpm8.2")

SCRIPT = r"""<?php
header('X-Test: yes');
http_response_code(201);
error_log('hello-stderr');
$in = file_get_contents('php://input');
$n = 0;
$total = 0;
foreach ($_SERVER as $k => $v) {
    if (strncmp($k, 'FOYER_EXTRA_', 12) === 0) {
        $n++;
        $total += strlen($v);
    }
}
echo "Hello\n";
echo "method=", $_SERVER['REQUEST_METHOD'], "\n";
echo "query=", $_SERVER['QUERY_STRING'], "\n";
echo "get_b=", $_GET['b'] ?? '', "\n";
echo "long=", strlen($_SERVER['HTTP_X_LONG'] ?? ''), "\n";
echo "content_length=", $_SERVER['CONTENT_LENGTH'] ?? '', "\n";
echo "body_len=", strlen($in), "\n";
echo "body_md5=", md5($in), "\n";
echo "extras=", $n, " ", $total, "\n";
echo str_repeat('z', 100000), "\n";
"""


def find_fpm():
    for name in FPM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("php-fpm8.2 not found: install the Debian package "
                "php8.2-fpm (the FastCGI codec is checked against it)")


def build_dir():
    return Path(FOYER_BIN).resolve().parent


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """Compiles the codec client against the built libfoyer.a."""
    lib = build_dir() / "libfoyer.a"
    if not lib.exists():
        pytest.fail(f"{lib} is missing: run make first")
    out = tmp_path_factory.mktemp("client") / "fcgi_codec_client"
    cflags = ["-std=gnu11", "-g", "-Wall", "-Wextra", "-Werror",
              "-D_GNU_SOURCE", f"-I{ROOT / 'include'}"]
    # A sanitizer build (build-address-undefined) needs the same runtime.
    name = build_dir().name
    if name.startswith("build-"):
        cflags.append("-fsanitize=" + name[len("build-"):].replace("-", ","))
    libs = subprocess.run(["pkg-config", "--libs", "libevent"],
                          capture_output=True, text=True,
                          check=True).stdout.split()
    subprocess.run([os.environ.get("CC", "cc"), *cflags, "-o", str(out),
                    str(ROOT / "tests" / "http" / "fcgi_codec_client.c"),
                    str(lib), *libs], check=True)
    return out


@pytest.fixture(scope="module")
def fpm(tmp_path_factory):
    """A private php-fpm8.2 pool on a unix socket in a temp directory,
    stopped by its pid at the end."""
    binary = find_fpm()
    d = tmp_path_factory.mktemp("fpm")
    www = d / "www"
    www.mkdir()
    (www / "echo.php").write_text(SCRIPT)
    sock = d / "fpm.sock"
    root = os.getuid() == 0
    (d / "fpm.conf").write_text(
        "[global]\n"
        f"pid = {d}/fpm.pid\n"
        f"error_log = {d}/fpm.log\n"
        "daemonize = no\n"
        "[test]\n"
        + ("user = root\n" if root else "")
        + f"listen = {sock}\n"
        "pm = static\n"
        "pm.max_children = 2\n"
    )
    args = [binary, "-n", "-y", str(d / "fpm.conf"), "-F"]
    if root:
        args.insert(1, "-R")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log = (d / "fpm.log").read_text() if (d / "fpm.log").exists() \
                else ""
            pytest.fail(f"php-fpm8.2 did not start: {proc.stderr.read()!r} "
                        f"{log}")
        time.sleep(0.05)
    yield {"sock": sock, "www": www}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_client(client, fpm, script, query="", body_len=0, extras=0,
               extra_len=0, requests=1):
    res = subprocess.run(
        [str(client), str(fpm["sock"]), str(script), query, str(body_len),
         str(extras), str(extra_len), str(requests)],
        capture_output=True, timeout=30)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    return parse_output(res.stdout)


def parse_output(out):
    """The client's report: a list of dicts, one per response."""
    responses = []
    pos = 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        assert out[pos:nl].startswith(b"=== response ")
        pos = nl + 1
        r = {"headers": []}
        while True:
            nl = out.index(b"\n", pos)
            line = out[pos:nl].decode()
            pos = nl + 1
            key, _, rest = line.partition(" ")
            if key == "status":
                code, _, reason = rest.partition(" ")
                r["status"], r["reason"] = int(code), reason
            elif key == "header":
                name, _, value = rest.partition(": ")
                r["headers"].append((name, value))
            elif key == "stderr":
                r["stderr"] = rest.partition(" ")[2]
            elif key == "end":
                app, proto, _, spans = rest.split()
                r["app_status"], r["protocol_status"] = int(app), int(proto)
                r["spans"] = int(spans)
            elif key == "body":
                n = int(rest)
                r["body"] = out[pos:pos + n]
                assert out[pos + n:pos + n + 1] == b"\n"
                pos += n + 1
                break
        responses.append(r)
    return responses


def body_fields(body):
    fields = {}
    for line in body.split(b"\n"):
        if b"=" in line and not line.startswith(b"z"):
            k, _, v = line.decode().partition("=")
            fields[k] = v
    return fields


def expected_body(n):
    return bytes(i % 251 for i in range(n))


def test_request_and_response(client, fpm):
    [r] = run_client(client, fpm, fpm["www"] / "echo.php", "a=1&b=two",
                     body_len=70000)
    assert r["status"] == 201
    assert r["reason"] == "Created"
    names = [n.lower() for n, _ in r["headers"]]
    assert ("X-Test", "yes") in r["headers"]
    assert "content-type" in names
    assert "status" not in names
    assert "hello-stderr" in r["stderr"]
    assert (r["app_status"], r["protocol_status"]) == (0, 0)
    # 100 KB of output cannot come in one STDOUT record from FPM.
    assert r["spans"] > 1
    body = r["body"]
    assert body.startswith(b"Hello\n")
    f = body_fields(body)
    assert f["method"] == "POST"
    assert f["query"] == "a=1&b=two"
    assert f["get_b"] == "two"
    assert f["long"] == "300"  # a 4-byte value length
    assert f["content_length"] == "70000"
    # 70000 bytes went as two STDIN records (65528 + 4472).
    assert f["body_len"] == "70000"
    assert f["body_md5"] == hashlib.md5(expected_body(70000)).hexdigest()
    assert f["extras"] == "0 0"
    assert b"z" * 100000 + b"\n" in body


def test_params_in_several_records(client, fpm):
    # 12 pairs of ~9 KB: more than one PARAMS record, no pair split.
    [r] = run_client(client, fpm, fpm["www"] / "echo.php", body_len=0,
                     extras=12, extra_len=9000)
    assert r["status"] == 201
    f = body_fields(r["body"])
    assert f["extras"] == "12 108000"
    assert f["body_len"] == "0"


def test_kept_connection(client, fpm):
    responses = run_client(client, fpm, fpm["www"] / "echo.php", "x=1",
                           body_len=5, requests=3)
    assert len(responses) == 3
    for r in responses:
        assert r["status"] == 201
        assert (r["app_status"], r["protocol_status"]) == (0, 0)
        f = body_fields(r["body"])
        assert f["body_len"] == "5"
        assert f["body_md5"] == hashlib.md5(expected_body(5)).hexdigest()


def test_missing_script(client, fpm):
    [r] = run_client(client, fpm, fpm["www"] / "missing.php")
    assert r["status"] == 404
    assert "Primary script unknown" in r["stderr"]
    assert (r["app_status"], r["protocol_status"]) == (0, 0)
    assert r["body"].startswith(b"File not found.")
