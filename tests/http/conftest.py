"""Fixtures: a factory that starts foyer with a given config and stops it at
the end of the test (or module), checking that it exited cleanly."""

import pytest

from foyer_http import Server


class ServerFactory:
    """factory(server={...}, sites=[(name, {...}), ...], files={...},
    prepare=fn) writes a config in a fresh directory, starts foyer -X on a
    free port and returns the running Server. The first site gets the
    directory's www/ as document root and access.log as access log unless
    the test says otherwise; files are created under www/; prepare(srv) runs
    before the start, to create what lies outside www/."""

    def __init__(self, new_dir):
        self.new_dir = new_dir
        self.servers = []

    def __call__(self, server=None, sites=None, files=None, extra="", prepare=None):
        srv = Server(self.new_dir(), server=server, sites=sites, files=files,
                     extra=extra)
        if prepare:
            prepare(srv)
        srv.start()
        self.servers.append(srv)
        return srv

    def stop_all(self):
        for srv in self.servers:
            srv.stop()


@pytest.fixture
def make_server(tmp_path):
    n = iter(range(1000))
    factory = ServerFactory(lambda: tmp_path / f"srv{next(n)}")
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def make_module_server(tmp_path_factory):
    factory = ServerFactory(lambda: tmp_path_factory.mktemp("srv"))
    yield factory
    factory.stop_all()
