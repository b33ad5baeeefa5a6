"""Command line: -t (config check), -V, -f, signals."""

import re
import signal

import pytest

from foyer_http import SERVER_VERSION, poll, run_foyer


def write_config(tmp_path, text, name="foyer.ini"):
    (tmp_path / "www").mkdir(exist_ok=True)
    path = tmp_path / name
    path.write_text(text)
    return path


def base_config(tmp_path, server_extra="", site_extra=""):
    return (
        "[server]\n"
        "listen = 127.0.0.1:8080\n"
        f"error_log = {tmp_path}/error.log\n"
        f"pid_file = {tmp_path}/foyer.pid\n"
        f"{server_extra}"
        "\n"
        "[site default]\n"
        f"document_root = {tmp_path}/www\n"
        f"{site_extra}"
    )


def check(path, cwd=None):
    return run_foyer("-t", "-f", str(path), cwd=cwd)


def assert_error_at(result, path, line):
    assert result.returncode == 1, result
    assert f"{path}:{line}:" in result.stderr, result.stderr
    assert "Syntax OK" not in result.stderr


def test_check_ok(tmp_path):
    r = check(write_config(tmp_path, base_config(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert "Syntax OK" in r.stderr


def test_check_full_contract_config(tmp_path):
    server = (
        "log_level = info\n"
        "keep_alive = on\n"
        "keep_alive_timeout = 5\n"
        "max_keep_alive_requests = 100\n"
        "timeout = 60\n"
        "request_header_timeout = 20\n"
        "request_body_timeout = 20\n"
        "limit_request_line = 8190\n"
        "limit_request_fields = 100\n"
        "limit_request_field_size = 8190\n"
        "limit_request_body = 1g\n"
        "listen = 127.0.0.1:8081\n"
    )
    site = (
        "server_name = example.com *.example.org\n"
        "index = index.html index.htm index.php\n"
        "front_controller = /index.php\n"
        f"access_log = {tmp_path}/access.log\n"
        "log_format = combined\n"
        "follow_symlinks = off\n"
    )
    r = check(write_config(tmp_path, base_config(tmp_path, server, site)))
    assert r.returncode == 0, r.stderr
    assert "Syntax OK" in r.stderr


def test_check_apache_directive_names(tmp_path):
    server = (
        "KeepAliveTimeout = 7\n"
        "MaxKeepAliveRequests = 50\n"
        "LimitRequestBody = 10m\n"
        "LogLevel = warn\n"
    )
    site = "FollowSymlinks = on\nDocumentRoot = www\n"
    text = base_config(tmp_path, server, "").replace(
        f"document_root = {tmp_path}/www\n", site
    )
    r = check(write_config(tmp_path, text))
    assert r.returncode == 0, r.stderr
    assert "Syntax OK" in r.stderr


def test_relative_document_root_is_relative_to_config_dir(tmp_path):
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    (conf_dir / "site-root").mkdir()
    text = base_config(tmp_path).replace(
        f"document_root = {tmp_path}/www", "document_root = site-root"
    )
    path = conf_dir / "foyer.ini"
    path.write_text(text)
    other = tmp_path / "elsewhere"
    other.mkdir()
    r = check(path, cwd=other)
    assert r.returncode == 0, r.stderr
    assert "Syntax OK" in r.stderr


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_check_mpm_values(tmp_path, mpm):
    r = check(write_config(tmp_path, base_config(tmp_path, f"mpm = {mpm}\n")))
    assert r.returncode == 0, r.stderr
    assert "Syntax OK" in r.stderr


def test_unknown_mpm_lists_the_three(tmp_path):
    path = write_config(tmp_path, base_config(tmp_path, "mpm = turbo\n"))
    r = check(path)
    assert_error_at(r, path, 5)
    for name in ("prefork", "worker", "event"):
        assert name in r.stderr


def test_unknown_key(tmp_path):
    path = write_config(tmp_path, base_config(tmp_path, "no_such_key = 1\n"))
    r = check(path)
    assert_error_at(r, path, 5)
    assert "no_such_key" in r.stderr


def test_unknown_key_in_site(tmp_path):
    path = write_config(tmp_path, base_config(tmp_path, "", "colour = blue\n"))
    r = check(path)
    assert_error_at(r, path, 8)


def test_unknown_section(tmp_path):
    path = write_config(tmp_path, base_config(tmp_path) + "[nonsense]\nx = 1\n")
    r = check(path)
    assert r.returncode == 1, r
    # the section header (line 8) or its first key (line 9)
    assert f"{path}:8:" in r.stderr or f"{path}:9:" in r.stderr, r.stderr


@pytest.mark.parametrize(
    "line",
    [
        "keep_alive = perhaps",
        "keep_alive_timeout = soon",
        "keep_alive_timeout = -1",
        "limit_request_fields = -5",
        "limit_request_body = 12q",
        "log_level = loud",
        "listen = 127.0.0.1:99999",
    ],
)
def test_bad_value_names_file_and_line(tmp_path, line):
    path = write_config(tmp_path, base_config(tmp_path, line + "\n"))
    r = check(path)
    assert_error_at(r, path, 5)


def test_every_error_is_reported(tmp_path):
    path = write_config(
        tmp_path, base_config(tmp_path, "bogus_one = 1\nbogus_two = 2\n")
    )
    r = check(path)
    assert_error_at(r, path, 5)
    assert f"{path}:6:" in r.stderr


def test_missing_document_root_fails(tmp_path):
    text = base_config(tmp_path).replace(
        f"{tmp_path}/www", f"{tmp_path}/does-not-exist"
    )
    r = check(write_config(tmp_path, text))
    assert r.returncode == 1
    assert "Syntax OK" not in r.stderr
    assert "does-not-exist" in r.stderr


def test_missing_config_file(tmp_path):
    r = check(tmp_path / "absent.ini")
    assert r.returncode == 1
    assert "absent.ini" in r.stderr


def test_include_glob_ok(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (sites / f"{name}.ini").write_text(
            f"[site {name}]\nserver_name = {name}.test\n"
            f"document_root = {tmp_path}/{name}\n"
        )
    (sites / "ignored.txt").write_text("not ini at all [[[\n")
    path = write_config(tmp_path, base_config(tmp_path, "include = sites/*.ini\n"))
    r = check(path)
    assert r.returncode == 0, r.stderr
    assert "Syntax OK" in r.stderr


def test_include_error_names_included_file(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    (tmp_path / "a").mkdir()
    bad = sites / "a.ini"
    bad.write_text(
        f"[site a]\nserver_name = a.test\ndocument_root = {tmp_path}/a\n"
        "follow_symlinks = sometimes\n"
    )
    path = write_config(tmp_path, base_config(tmp_path, "include = sites/*.ini\n"))
    r = check(path)
    assert r.returncode == 1
    assert "sites/a.ini:4:" in r.stderr, r.stderr


def test_version():
    r = run_foyer("-V")
    assert r.returncode == 0
    out = r.stdout + r.stderr
    assert f"Server version: {SERVER_VERSION}" in out, out


def test_pid_file(make_server):
    srv = make_server()
    assert poll(lambda: srv.pid_file.exists()), "no pid file"
    assert int(srv.pid_file.read_text().strip()) == srv.pid


def test_sigint_stops(make_server):
    srv = make_server()
    resp = srv.get("/")
    assert resp.status == 403  # the empty document root has no index
    srv.stop(signal.SIGINT)


def test_start_refuses_bad_config(tmp_path):
    path = write_config(tmp_path, base_config(tmp_path, "keep_alive = perhaps\n"))
    r = run_foyer("-X", "-f", str(path))
    assert r.returncode != 0
    assert re.search(re.escape(str(path)) + r":5:", r.stderr), r.stderr


def test_sigterm_with_open_connections(make_server):
    """Stopping with a download in progress, an idle keep-alive connection
    and a half-sent request still exits 0 (checked by stop)."""
    srv = make_server(files={"big.bin": b"\x5a" * (8 << 20), "a.txt": "a"})
    busy = srv.connect()
    busy.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    busy.sock.recv(1024)
    idle = srv.connect()
    idle.send("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert idle.read_response().body == b"a"
    partial = srv.connect()
    partial.send("GET /a.txt HTTP/1.1\r\nHo")
    try:
        srv.stop()
    finally:
        for c in (busy, idle, partial):
            c.close()


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_check_prints_apache_mpm_warning(tmp_path, mpm):
    text = base_config(tmp_path, f"mpm = {mpm}\n") + (
        f"[{mpm}]\nThreadsPerChild = 30\n"
    )
    r = check(write_config(tmp_path, text))
    assert r.returncode == 0, r.stderr
    want = (
        "WARNING: MaxRequestWorkers of 400 is not an integer multiple of "
        "ThreadsPerChild of 30, decreasing to nearest multiple 390, for a "
        "maximum of 13 servers.\n"
    )
    assert want + "Syntax OK\n" in r.stderr, r.stderr


def test_check_prefork_server_limit_warning(tmp_path):
    text = base_config(tmp_path, "mpm = prefork\n") + (
        "[prefork]\nServerLimit = 100\nMaxClients = 256\n"
    )
    r = check(write_config(tmp_path, text))
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        "WARNING: MaxRequestWorkers of 256 exceeds ServerLimit value of 100 "
        "servers, decreasing MaxRequestWorkers to 100. To increase, please "
        "see the ServerLimit directive.",
        "Syntax OK",
    ], r.stderr


def test_check_warns_only_for_the_selected_mpm(tmp_path):
    text = base_config(tmp_path, "mpm = event\n") + (
        "[worker]\nThreadsPerChild = 30\n[event]\nThreadsPerChild = 40\n"
    )
    r = check(write_config(tmp_path, text))
    assert r.returncode == 0, r.stderr
    assert r.stderr == "Syntax OK\n", r.stderr


def test_wrong_mpm_key_names_file_and_line(tmp_path):
    text = base_config(tmp_path) + "[prefork]\nStartServers = 2\nThreadsPerChild = 25\n"
    path = write_config(tmp_path, text)
    r = check(path)
    assert_error_at(r, path, 10)
    assert (
        f"{path}:10: ThreadsPerChild is not a prefork directive "
        "(it belongs in [worker] and [event])"
    ) in r.stderr, r.stderr


@pytest.mark.parametrize(
    "line",
    ["allow = 127.0.0.1 localhost", "allow = 10.0.0.0/33", "path = status"],
)
def test_bad_status_value_names_file_and_line(tmp_path, line):
    path = write_config(tmp_path, base_config(tmp_path) + f"[status]\n{line}\n")
    r = check(path)
    assert_error_at(r, path, 9)


def test_check_fpm_pool_ok(tmp_path):
    site = (
        "php = fpm:www\n"
        "php_extensions = .php .phtml\n"
        "PHP_Value.memory_limit = 64M\n"
        "php_admin_value.open_basedir = /tmp\n"
        "fastcgi_param.APP_ENV = test\n"
    )
    pool = (
        "\n[pool www]\n"
        "backend = unix:run/php.sock\n"
        "backend = 127.0.0.1:9000\n"
        "balance = least-conn\n"
        "keep_alive = 2\n"
    )
    path = write_config(tmp_path, base_config(tmp_path, site_extra=site) + pool)
    r = check(path)
    assert r.returncode == 0, r.stderr
    assert "Syntax OK" in r.stderr


def test_check_missing_pool(tmp_path):
    path = write_config(
        tmp_path, base_config(tmp_path, site_extra="php = fpm:missing\n")
    )
    r = check(path)
    assert_error_at(r, path, 6)
    assert (
        f"{path}:6: site default: php = fpm:missing: there is no pool "
        "missing"
    ) in r.stderr, r.stderr


def test_check_pool_without_backend(tmp_path):
    text = base_config(tmp_path, site_extra="php = fpm:www\n")
    path = write_config(tmp_path, text + "[pool www]\nkeep_alive = 2\n")
    r = check(path)
    assert_error_at(r, path, 9)
    assert "pool www has no backend" in r.stderr, r.stderr


@pytest.mark.parametrize(
    "line",
    [
        "fastcgi_param.PHP_VALUE = memory_limit=1G",
        "fastcgi_param.REQUEST_BODY_FILE = /etc/passwd",
        "php_value.memory-limit! = 1",
        "x_sendfile = maybe",
    ],
)
def test_check_bad_php_key_names_file_and_line(tmp_path, line):
    path = write_config(tmp_path, base_config(tmp_path, site_extra=line + "\n"))
    r = check(path)
    assert_error_at(r, path, 8)
