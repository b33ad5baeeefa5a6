"""PHP through FastCGI: foyer in front of a private php-fpm8.2 (see
php_fpm.py), under -X and each MPM. Requests and bodies, the CGI
environment PHP sees, responses built from what PHP says, the
PATH_INFO split and the attacks it must stop, the front controller, and the
settings a site passes to PHP.

One foyer per mode serves several sites (chosen by Host), all on the same
FPM pool:
  default       php_value, php_admin_value and fastcgi_param set
  fc.test       front_controller = /index.php
  noauth.test   pass_authorization = off
  ka.test       a pool that keeps one idle connection to FPM
The other pools keep none: every kept connection pins an FPM child.
"""

import base64
import hashlib
import json
import os

import pytest

from php_fpm import fpm  # noqa: F401 (the module's php-fpm fixture)
from php_fpm import json_body

ADMIN_UA = "foyer-admin-test"


@pytest.fixture(scope="module")
def php(make_module_server, fpm):  # noqa: F811
    sites = [
        ("default", fpm.site("php", **{
            "php_value.precision": 5,
            "php_admin_value.user_agent": ADMIN_UA,
            "fastcgi_param.FOYER_TEST": "hello fastcgi",
        })),
        ("fc", fpm.site("php", server_name="fc.test",
                        front_controller="/index.php")),
        ("noauth", fpm.site("php", server_name="noauth.test",
                            pass_authorization=False)),
        ("ka", fpm.site("kept", server_name="ka.test")),
    ]
    return make_module_server(sites=sites, extra=(
        fpm.pool("php", "main")
        + fpm.pool("kept", "keep", keep_alive=1, keep_alive_timeout=1)))


def request(srv, method, path, host="localhost", headers="", body=b"",
            version="HTTP/1.1"):
    head = f"{method} {path} {version}\r\nHost: {host}\r\n{headers}"
    if body and "content-length" not in headers.lower() \
            and "transfer-encoding" not in headers.lower():
        head += f"Content-Length: {len(body)}\r\n"
    head += "Connection: close\r\n\r\n"
    with srv.connect() as c:
        c.send(head.encode("latin-1") + body)
        return c.read_response(head=method == "HEAD")


def env(srv, path="/env.php", **kw):
    """What env.php saw: {"server": $_SERVER, "get": ..., ...}."""
    return json_body(request(srv, kw.pop("method", "GET"), path, **kw))


def no_raw_newline_in(log):
    """Every line of an error log starts like a log line (a control byte
    from a request must not start a line of its own)."""
    return all(line.startswith("[") for line in log.splitlines() if line)


# --- methods and bodies ---------------------------------------------------


def test_get_runs_the_script_and_streams_chunked(php):
    r = request(php, "GET", "/env.php?a=1&b=two")
    assert r.status == 200
    assert r.header("Content-Type") == "application/json"
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.header("Content-Length") is None
    j = json.loads(r.body)
    assert j["get"] == {"a": "1", "b": "two"}
    assert j["server"]["REQUEST_METHOD"] == "GET"


def test_http10_response_is_close_delimited(php):
    with php.connect() as c:
        c.send("GET /env.php HTTP/1.0\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        assert c.closed_by_server()
    assert r.status == 200
    assert r.header("Transfer-Encoding") is None
    assert json.loads(r.body)["server"]["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_head_has_headers_and_no_body(php):
    with php.connect() as c:
        c.send("HEAD /env.php HTTP/1.1\r\nHost: localhost\r\n\r\n"
               "GET /status.php?code=201 HTTP/1.1\r\nHost: localhost\r\n"
               "Connection: close\r\n\r\n")
        head = c.read_response(head=True)
        # the next response follows at once: no body bytes in between
        after = c.read_response()
    assert head.status == 200
    assert head.header("Content-Type") == "application/json"
    assert head.body == b""
    assert after.status == 201
    assert after.body == b"status body 201\n"


def test_post_urlencoded(php):
    body = b"name=J%C3%BCrgen&list%5B%5D=1&list%5B%5D=2&empty="
    j = env(php, method="POST", body=body, headers=(
        "Content-Type: application/x-www-form-urlencoded\r\n"))
    assert j["post"] == {"name": "J\u00fcrgen", "list": ["1", "2"],
                         "empty": ""}
    assert j["server"]["CONTENT_LENGTH"] == str(len(body))
    assert j["server"]["CONTENT_TYPE"] == "application/x-www-form-urlencoded"


def multipart(fields, files, boundary="----foyer-boundary-7MA4YWxk"):
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{name}"\r\n\r\n').encode() + value + b"\r\n"
    for name, (filename, data) in files.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", out


def test_post_multipart_upload(php):
    data = os.urandom(700 * 1024)
    ctype, body = multipart({"title": b"holiday"},
                            {"photo": ("beach.bin", data)})
    j = env(php, method="POST", body=body,
            headers=f"Content-Type: {ctype}\r\n")
    assert j["post"] == {"title": "holiday"}
    f = j["files"]["photo"]
    assert f["error"] == 0, f
    assert f["name"] == "beach.bin"
    assert f["size"] == len(data)
    assert f["md5"] == hashlib.md5(data).hexdigest()
    assert j["server"]["CONTENT_LENGTH"] == str(len(body))


def test_chunked_request_body_reaches_php_with_its_length(php):
    parts = [b"first part;", os.urandom(40000), b"", b"last"]
    parts = [p for p in parts if p]
    data = b"".join(parts)
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    j = env(php, method="POST", body=body, headers=(
        "Content-Type: application/octet-stream\r\n"
        "Transfer-Encoding: chunked\r\n"))
    assert j["input_len"] == len(data)
    assert j["input_md5"] == hashlib.md5(data).hexdigest()
    assert j["server"]["CONTENT_LENGTH"] == str(len(data))


def test_expect_100_continue_upload(php):
    data = os.urandom(300 * 1024)
    ctype, body = multipart({}, {"f": ("x.bin", data)})
    with php.connect() as c:
        c.send(f"POST /env.php HTTP/1.1\r\nHost: localhost\r\n"
               f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
               "Expect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = c.read_response()
        assert interim.status == 100
        c.send(body)
        r = c.read_response()
    j = json_body(r)
    assert j["files"]["f"]["size"] == len(data)
    assert j["files"]["f"]["md5"] == hashlib.md5(data).hexdigest()
    assert "HTTP_EXPECT" not in j["server"] or \
        j["server"]["HTTP_EXPECT"] == "100-continue"


def test_raw_body_through_php_input(php):
    data = b'{"k": [1, 2, 3], "s": "\xc3\xa9"}'
    j = env(php, method="PUT", body=data,
            headers="Content-Type: application/json\r\n")
    assert j["input"] == data.decode()
    assert j["server"]["REQUEST_METHOD"] == "PUT"
    assert j["server"]["CONTENT_LENGTH"] == str(len(data))


# --- responses built from what PHP says -----------------------------------


def test_cookies_in_and_out(php):
    r = request(php, "GET", "/cookies.php",
                headers="Cookie: session=abc123; theme=dark\r\n")
    assert r.status == 200
    assert json.loads(r.body) == {"session": "abc123", "theme": "dark"}
    cookies = r.header_all("Set-Cookie")
    assert len(cookies) == 3, r.headers
    assert cookies[0] == "a=1"
    assert cookies[1].startswith("b=two;") and "HttpOnly" in cookies[1]
    assert cookies[2] == "c=3; Path=/"


def test_two_cookie_headers_are_joined(php):
    j = env(php, headers="Cookie: a=1\r\nCookie: b=2\r\n")
    assert j["cookie"] == {"a": "1", "b": "2"}


def test_redirect_after_post_is_303(php):
    r = request(php, "POST", "/redirect.php", body=b"item=book",
                headers="Content-Type: application/x-www-form-urlencoded\r\n")
    assert r.status == 303
    assert r.header("Location") == "/env.php?saved=book"
    assert r.header("Status") is None


def test_local_location_without_status_is_an_internal_redirect(php):
    # RFC 3875 6.2.2: PHP said "Location: /env.php?from=redirect" and no
    # Status; the client gets env.php's answer, to a GET without a body.
    r = request(php, "POST", "/redirect.php?plain=1", body=b"item=x",
                headers="Content-Type: application/x-www-form-urlencoded\r\n")
    assert r.header("Location") is None
    j = json_body(r)
    assert j["get"] == {"from": "redirect"}
    assert j["post"] == []
    assert j["input_len"] == 0
    s = j["server"]
    assert s["REQUEST_METHOD"] == "GET"
    assert s["SCRIPT_NAME"] == "/env.php"
    assert s["QUERY_STRING"] == "from=redirect"
    assert s.get("CONTENT_LENGTH", "") == ""
    assert s["REQUEST_URI"] == "/redirect.php?plain=1"


def test_status_header_sets_the_code(php):
    r = request(php, "GET", "/status.php?code=404")
    assert r.status == 404
    assert r.reason == "Not Found"
    assert r.header("Status") is None
    assert r.header("X-Status-Test") == "yes"
    assert r.body == b"status body 404\n"


def test_status_header_keeps_a_custom_reason(php):
    r = request(php, "GET", "/status.php?code=404&reason=Gone+Fishing")
    assert r.status == 404
    assert r.reason == "Gone Fishing"
    assert r.body == b"status body 404\n"


def test_framing_and_hop_by_hop_headers_from_php_are_dropped(php):
    with php.connect() as c:
        c.send("GET /hop.php HTTP/1.1\r\nHost: localhost\r\n\r\n"
               "GET /status.php?code=202 HTTP/1.1\r\nHost: localhost\r\n"
               "Connection: close\r\n\r\n")
        r = c.read_response()
        after = c.read_response()
    assert r.status == 200
    assert r.body == b"hello from hop\n"
    assert r.header("X-Kept") == "yes"
    assert r.header("Content-Length") is None
    assert r.header_all("Transfer-Encoding") == ["chunked"]
    for name in ("Keep-Alive", "Upgrade", "Trailer"):
        assert r.header(name) is None, name
    assert r.header("Connection") in (None, "keep-alive")
    # the connection stayed in step
    assert after.status == 202


def test_php_fatal_error_is_500_with_the_message_logged(php):
    before = len(php.error_log())
    r = request(php, "GET", "/fatal.php")
    assert r.status == 500
    assert php.wait_error_log("echo_undefined_function_here"), php.error_log()
    log = php.error_log()[before:]
    # PHP's message spans several lines (the stack trace): each one is a
    # line of foyer's log, with the request, and none starts a line alone
    lines = [l for l in log.splitlines() if "fatal.php" in l]
    assert lines, log
    for line in lines:
        assert line.startswith("["), log
        assert "FastCGI sent in stderr" in line, log
        assert '"GET /fatal.php HTTP/1.1"' in line, log
    assert no_raw_newline_in(log), log


def test_stderr_goes_to_the_error_log_with_the_request(php):
    r = request(php, "GET", "/stderr.php?msg=marker-4711")
    assert r.status == 200 and r.body == b"logged\n"
    assert php.wait_error_log("stderr-test marker-4711"), php.error_log()
    line = [l for l in php.error_log().splitlines()
            if "stderr-test marker-4711" in l][0]
    assert "FastCGI sent in stderr" in line
    assert "[fastcgi:error]" in line
    assert '"GET /stderr.php?msg=marker-4711 HTTP/1.1"' in line
    assert "[client 127.0.0.1:" in line


# --- the CGI environment ----------------------------------------------------


def test_server_variables(php, fpm):  # noqa: F811
    www = str(fpm.www)
    with php.connect() as c:
        c.send("GET /env.php?q=%41b&x HTTP/1.1\r\nHost: localhost\r\n"
               "X-Custom-Thing: value 1\r\nAccept: text/plain\r\n"
               "Connection: close\r\n\r\n")
        client_port = c.local_port
        s = json_body(c.read_response())["server"]
    assert s["SCRIPT_NAME"] == "/env.php"
    assert s["SCRIPT_FILENAME"] == www + "/env.php"
    assert s["DOCUMENT_ROOT"] == www
    assert "PATH_INFO" not in s
    assert "PATH_TRANSLATED" not in s
    assert s["REQUEST_URI"] == "/env.php?q=%41b&x"
    assert s["QUERY_STRING"] == "q=%41b&x"
    assert s["REQUEST_METHOD"] == "GET"
    assert s["SERVER_PORT"] == str(php.port)
    assert s["SERVER_ADDR"] == "127.0.0.1"
    assert s["REMOTE_ADDR"] == "127.0.0.1"
    assert s["REMOTE_PORT"] == str(client_port)
    assert s["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert s["REQUEST_SCHEME"] == "http"
    assert "HTTPS" not in s
    assert s["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert s["SERVER_SOFTWARE"].startswith("foyer/")
    assert s["HTTP_HOST"] == "localhost"
    assert s["HTTP_X_CUSTOM_THING"] == "value 1"
    assert s["HTTP_ACCEPT"] == "text/plain"
    assert s.get("CONTENT_LENGTH", "") in ("", "0")
    assert s["PHP_SELF"] == "/env.php"


def test_server_name_is_the_site_name(php):
    s = env(php, host="fc.test")["server"]
    assert s["SERVER_NAME"] == "fc.test"
    assert s["HTTP_HOST"] == "fc.test"


def test_repeated_header_is_joined(php):
    s = env(php, headers="X-Dup: one\r\nX-Dup: two\r\n")["server"]
    assert s["HTTP_X_DUP"] == "one, two"


def test_httpoxy_proxy_header_is_not_passed(php, fpm):  # noqa: F811
    j = env(php, "/env.php?httpoxy-1", headers="Proxy: http://evil:8080\r\n")
    assert "HTTP_PROXY" not in j["server"]
    assert j["getenv_proxy"] is False
    # PHP hides HTTP_PROXY itself: FPM's access log shows the raw params
    entry = fpm.access_entry("httpoxy-1")
    assert entry is not None, fpm.access_log.read_text()
    assert entry["HTTP_PROXY"] is None


def test_header_with_underscore_is_not_passed(php, fpm):  # noqa: F811
    j = env(php, "/env.php?under-1", headers=(
        "X_Under: sneaky\r\nX-Forwarded-For: 192.0.2.1\r\n"
        "X_Forwarded_For: 198.51.100.66\r\n"))
    s = j["server"]
    assert "HTTP_X_UNDER" not in s
    assert s["HTTP_X_FORWARDED_FOR"] == "192.0.2.1"
    entry = fpm.access_entry("under-1")
    assert entry is not None and entry["HTTP_X_UNDER"] is None


def test_client_cannot_set_php_value(php, fpm):  # noqa: F811
    # noauth.test has no php_value of its own. (FPM keeps a PHP_VALUE it
    # was sent in the child for later requests, so the settings tried
    # here are ones no site of this suite sets.)
    r = request(php, "GET", "/ini.php?names=highlight.comment,highlight.keyword"
                "&phpvalue-1", host="noauth.test", headers=(
                    "PHP_VALUE: highlight.comment=#EVIL1\r\n"
                    "PHP-Value: highlight.comment=#EVIL2\r\n"
                    "PHP_ADMIN_VALUE: highlight.keyword=#EVIL3\r\n"
                    "PHP-Admin-Value: highlight.keyword=#EVIL4\r\n"))
    ini = json_body(r)
    assert ini["highlight.comment"]["value"] == "#FF8000"
    assert ini["highlight.keyword"]["value"] == "#007700"
    entry = fpm.access_entry("phpvalue-1")
    assert entry is not None
    assert entry["PHP_VALUE"] is None
    assert entry["PHP_ADMIN_VALUE"] is None
    # the dash form is an ordinary header, under HTTP_
    assert entry["HTTP_PHP_VALUE"] == "highlight.comment=#EVIL2"


def test_php_value_and_php_admin_value(php):
    ini = json_body(request(
        php, "GET", "/ini.php?names=precision,user_agent&try=changed"))
    assert ini["precision"]["value"] == "5"
    assert ini["precision"]["set"] is True        # php_value: the script may
    assert ini["user_agent"]["value"] == ADMIN_UA
    assert ini["user_agent"]["set"] is False      # php_admin_value: it may not


def test_fastcgi_param(php):
    s = env(php)["server"]
    assert s["FOYER_TEST"] == "hello fastcgi"
    other = env(php, host="noauth.test")["server"]
    assert "FOYER_TEST" not in other


def test_basic_auth_reaches_php(php):
    token = base64.b64encode(b"alice:s3cr:et").decode()
    s = env(php, headers=f"Authorization: Basic {token}\r\n")["server"]
    assert s["PHP_AUTH_USER"] == "alice"
    assert s["PHP_AUTH_PW"] == "s3cr:et"
    assert s["HTTP_AUTHORIZATION"] == f"Basic {token}"


def test_pass_authorization_off_hides_credentials(php):
    token = base64.b64encode(b"alice:secret").decode()
    s = env(php, host="noauth.test",
            headers=f"Authorization: Basic {token}\r\n")["server"]
    assert "PHP_AUTH_USER" not in s
    assert "PHP_AUTH_PW" not in s
    assert "HTTP_AUTHORIZATION" not in s


# --- PATH_INFO and the paths that must never reach PHP ---------------------


@pytest.mark.parametrize("path, script, path_info", [
    ("/env.php/a/b", "/env.php", "/a/b"),
    ("/env.php/", "/env.php", "/"),
    ("/env.php/a%20b/c.php?x=1", "/env.php", "/a b/c.php"),
    ("/./env.php//a", "/env.php", "/a"),         # slashes merged
    ("/uploads/../env.php/z", "/env.php", "/z"),
])
def test_path_info_split(php, fpm, path, script, path_info):  # noqa: F811
    j = env(php, path)
    s = j["server"]
    assert s["SCRIPT_NAME"] == script
    assert s["SCRIPT_FILENAME"] == str(fpm.www) + script
    assert s["PATH_INFO"] == path_info
    assert s["PATH_TRANSLATED"] == str(fpm.www) + path_info
    assert s["REQUEST_URI"] == path


@pytest.mark.parametrize("path", [
    "/uploads/x.jpg/y.php",      # the fix_pathinfo attack
    "/uploads/x.jpg/.php",
    "/uploads/y.php.txt/z.php",
    "/static.txt/a.php",
    "/missing.php",
    "/missing.php/a",
    "/uploads/",                 # a directory with no index
])
def test_paths_that_do_not_reach_php(php, path):
    r = request(php, "GET", path)
    assert r.status in (403, 404), (path, r.status)
    assert b"EXECUTED" not in r.body
    assert b"controller" not in r.body


def test_uploaded_file_is_served_not_run(php, fpm):  # noqa: F811
    r = request(php, "GET", "/uploads/x.jpg")
    assert r.status == 200
    assert r.body == (fpm.www / "uploads/x.jpg").read_bytes()
    assert r.header("X-Powered-By") is None


@pytest.mark.parametrize("path", ["/env.php/a%0ab", "/env.php/%0d%0aX: y",
                                  "/env.php/a%01", "/env.php/x%7f"])
def test_control_character_in_path_info_is_400(php, path):
    before = len(php.error_log())
    r = request(php, "GET", path.replace(" ", "%20"))
    assert r.status == 400, r
    assert no_raw_newline_in(php.error_log()[before:]), php.error_log()


def test_control_character_in_script_part_never_reaches_php(php):
    before = len(php.error_log())
    r = request(php, "GET", "/env.php%0a/x")
    assert r.status in (400, 404)
    assert b"REQUEST_URI" not in r.body
    # the error log line about it stays one line
    assert no_raw_newline_in(php.error_log()[before:]), php.error_log()


# --- front controller -------------------------------------------------------


def test_front_controller_gets_pretty_urls(php):
    r = request(php, "GET", "/blog/2024/hello-world?page=2&sort=new",
                host="fc.test")
    j = json_body(r)
    assert j["controller"] is True
    assert j["REQUEST_URI"] == "/blog/2024/hello-world?page=2&sort=new"
    assert j["QUERY_STRING"] == "page=2&sort=new"
    assert j["get"] == {"page": "2", "sort": "new"}
    assert j["SCRIPT_NAME"] == "/index.php"


def test_front_controller_leaves_existing_files_alone(php):
    assert json_body(request(php, "GET", "/", host="fc.test"))["controller"]
    r = request(php, "GET", "/static.txt", host="fc.test")
    assert r.status == 200 and r.body == b"plain static file\n"
    s = env(php, "/env.php/x", host="fc.test")["server"]
    assert s["SCRIPT_NAME"] == "/env.php" and s["PATH_INFO"] == "/x"


def test_front_controller_post(php):
    r = request(php, "POST", "/api/items", host="fc.test", body=b"a=1",
                headers="Content-Type: application/x-www-form-urlencoded\r\n")
    j = json_body(r)
    assert j["controller"] is True
    assert j["REQUEST_URI"] == "/api/items"


def test_front_controller_never_runs_an_upload(php):
    r = request(php, "GET", "/uploads/x.jpg/y.php", host="fc.test")
    assert b"EXECUTED" not in r.body
    if r.status == 200:
        assert json.loads(r.body)["SCRIPT_NAME"] == "/index.php"


# --- keep-alive, to the client and to FPM -----------------------------------


def test_client_keep_alive_reuses_one_fpm_connection(php):
    conns = []
    with php.connect() as c:
        for i in range(6):
            c.send(f"GET /env.php?n={i} HTTP/1.1\r\nHost: ka.test\r\n\r\n")
            r = c.read_response()
            j = json_body(r)
            assert j["get"] == {"n": str(i)}
            conns.append(j["fcgi_conn"])
    assert all(conns), conns
    # six requests, one kept FastCGI connection (two at most, should one
    # have been dropped by FPM or aged out on the way)
    assert len(set(conns)) <= 2, conns


def test_pipelined_requests_to_php_answer_in_order(php):
    with php.connect() as c:
        c.send("".join(f"GET /env.php?seq={i} HTTP/1.1\r\nHost: localhost"
                       "\r\n\r\n" for i in range(4)))
        got = [json_body(c.read_response())["get"]["seq"] for _ in range(4)]
    assert got == ["0", "1", "2", "3"]
