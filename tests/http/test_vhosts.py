"""Name-based virtual hosts chosen by the Host header."""

import subprocess

import pytest
import requests


def prepare_sites(srv):
    for name in ("main", "a", "b", "deep"):
        d = srv.dir / name
        d.mkdir()
        (d / "index.html").write_text(f"site {name}\n")


@pytest.fixture(scope="module")
def srv(make_module_server):
    def site(name, names):
        # relative document roots: resolved from the config file's folder
        return (name, {"server_name": names, "document_root": name})

    return make_module_server(
        sites=[
            site("main", "main.test"),
            site("a", "a.test www.a.test"),
            site("b", "*.b.test"),
            site("deep", "*.deep.b.test"),
        ],
        prepare=prepare_sites,
    )


@pytest.mark.parametrize(
    "host,site",
    [
        ("main.test", "main"),
        ("a.test", "a"),
        ("www.a.test", "a"),
        ("A.TeSt", "a"),
        ("a.test:8080", "a"),
        ("x.b.test", "b"),
        ("X.B.TEST:1234", "b"),
        ("y.x.b.test", "b"),
        ("z.deep.b.test", "deep"),
        ("b.test", "main"),  # a wildcard does not match the bare domain
        ("unknown.test", "main"),
        ("127.0.0.1", "main"),
        ("[::1]:8080", "main"),
        ("a.test.", "a"),
        ("x.b.test.:80", "b"),
        ("notb.test", "main"),
    ],
)
def test_host_selects_site(srv, host, site):
    r = srv.get("/", host=host)
    assert (r.status, r.body) == (200, f"site {site}\n".encode()), host


def test_with_requests(srv):
    r = requests.get(srv.url("/"), headers={"Host": "www.a.test"}, timeout=5)
    assert r.text == "site a\n"


def test_with_curl_resolve(srv):
    out = subprocess.run(
        ["curl", "-sS", "--resolve", f"q.b.test:{srv.port}:127.0.0.1",
         f"http://q.b.test:{srv.port}/"],
        capture_output=True, timeout=10, check=True,
    ).stdout
    assert out == b"site b\n"


def test_http10_without_host_gets_default(srv):
    r = srv.request("GET / HTTP/1.0\r\n\r\n")
    assert (r.status, r.body) == (200, b"site main\n")


def test_sites_on_one_connection(srv):
    with srv.connect() as c:
        for host in ("a.test", "x.b.test", "other", "a.test"):
            c.send(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n")
        bodies = [c.read_response().body for _ in range(4)]
    assert bodies == [b"site a\n", b"site b\n", b"site main\n", b"site a\n"]


def test_same_path_different_roots(srv):
    (srv.dir / "a" / "only-a.txt").write_text("in a\n")
    assert srv.get("/only-a.txt", host="a.test").body == b"in a\n"
    assert srv.get("/only-a.txt", host="x.b.test").status == 404
    assert srv.get("/only-a.txt", host="main.test").status == 404


def test_sites_from_include_glob(make_server):
    def prepare(srv):
        sites = srv.dir / "sites"
        sites.mkdir()
        for name in ("one", "two"):
            (srv.dir / name).mkdir()
            (srv.dir / name / "index.html").write_text(f"included {name}\n")
            (sites / f"{name}.ini").write_text(
                f"[site {name}]\nserver_name = {name}.test\n"
                f"document_root = {srv.dir / name}\n"
            )

    srv = make_server(
        server={"include": "sites/*.ini"},
        files={"index.html": "last site\n"},
        prepare=prepare,
    )
    assert srv.get("/", host="one.test").body == b"included one\n"
    assert srv.get("/", host="two.test").body == b"included two\n"
    # the include sits in [server], before [site default]: its sites come
    # first, in glob order, so the first of them is the default
    assert srv.get("/", host="three.test").body == b"included one\n"
    assert srv.get("/", host="localhost").body == b"included one\n"


def test_per_site_access_logs(make_server, tmp_path):
    a_log = tmp_path / "a-access.log"

    def prepare(srv):
        (srv.dir / "a").mkdir()
        (srv.dir / "a" / "index.html").write_text("a\n")

    srv = make_server(
        sites=[("main", {}),
               ("a", {"server_name": "a.test", "document_root": "a",
                      "access_log": str(a_log)})],
        files={"index.html": "main\n"},
        prepare=prepare,
    )
    srv.get("/", host="a.test")
    srv.get("/?main", host="main.test")
    a_lines = srv.wait_access_lines(1, a_log)
    main_lines = srv.wait_access_lines(1)
    assert len(a_lines) == 1 and '"GET / HTTP/1.1"' in a_lines[0]
    assert len(main_lines) == 1 and '"GET /?main HTTP/1.1"' in main_lines[0]
