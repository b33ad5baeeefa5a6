"""Graceful restarts under load: SIGUSR1 and foyer -k graceful re-read the
config while clients keep sending, and no request fails."""

import os
import signal

import pytest

from foyer_http import MPMS, open_to_others, run_foyer
from mpm_util import Load, fetch, status, wait_for

BODY = b"steady\n" * 100


def generation(srv):
    return int(status(srv)["ParentServerMPMGeneration"])


def restart_twice(srv, how):
    """Two graceful restarts, each waited for through the generation."""
    gen = generation(srv)
    for i in (1, 2):
        if how == "signal":
            srv.send_signal(signal.SIGUSR1)
        else:
            r = run_foyer("-k", "graceful", "-f", str(srv.config_path))
            assert r.returncode == 0, r.stderr
        wait_for(lambda: generation(srv) >= gen + i,
                 f"generation {gen + i}", srv)
    return gen


@pytest.mark.parametrize("how", ["signal", "k"])
@pytest.mark.parametrize("mpm", MPMS)
def test_graceful_restart_under_load(make_mpm_server, mpm, how):
    srv = make_mpm_server(mode=mpm, files={"steady.txt": BODY,
                                           "index.html": "old index\n"})
    config_gen = int(status(srv)["ParentServerConfigGeneration"])
    # the change the restarts must bring: a new site and another index
    (srv.dir / "new").mkdir()
    (srv.dir / "new" / "hello.txt").write_text("new site\n")
    (srv.root / "other.html").write_text("new index\n")
    srv.sites = [("default", {"index": "other.html"}),
                 ("new", {"server_name": "new.test",
                          "document_root": str(srv.dir / "new")})]
    srv.write_config(srv.port)
    if os.geteuid() == 0:
        open_to_others(srv.dir)  # the children run as nobody
    with Load(srv, "/steady.txt", BODY, threads=4, seconds=3) as load:
        gen = restart_twice(srv, how)
    assert load.failures == [], (
        f"{len(load.failures)} failed, {load.ok} ok: {load.failures[:5]}")
    assert load.ok > 0
    st = status(srv)
    assert int(st["ParentServerMPMGeneration"]) == gen + 2
    assert int(st["ParentServerConfigGeneration"]) == config_gen + 2
    r = srv.get("/")
    assert (r.status, r.body) == (200, b"new index\n")
    r = srv.get("/hello.txt", host="new.test")
    assert (r.status, r.body) == (200, b"new site\n")
    assert srv.proc.poll() is None
    assert fetch(srv, "/steady.txt").body == BODY
