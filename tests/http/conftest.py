"""Fixtures: a factory that starts foyer with a given config and stops it at
the end of the test (or module), checking that it exited cleanly.

Every test that uses make_server or make_module_server runs once per mode:
foyer -X (one process) and the master under each MPM (prefork, worker,
event). Tests that need a particular MPM use make_mpm_server instead."""

import pytest

from foyer_http import MODES, Server


class ServerFactory:
    """factory(server={...}, sites=[(name, {...}), ...], files={...},
    prepare=fn, mpm={...}) writes a config in a fresh directory, starts
    foyer on a free port in the factory's mode and returns the running
    Server. The first site gets the directory's www/ as document root and
    access.log as access log unless the test says otherwise; files are
    created under www/; prepare(srv) runs before the start, to create what
    lies outside www/; mpm adds directives to the MPM's section."""

    def __init__(self, new_dir, mode):
        self.new_dir = new_dir
        self.mode = mode
        self.servers = []

    def __call__(self, server=None, sites=None, files=None, extra="", prepare=None,
                 mpm=None, mode=None):
        srv = Server(self.new_dir(), server=server, sites=sites, files=files,
                     extra=extra, mode=mode or self.mode, mpm=mpm)
        if prepare:
            prepare(srv)
        self.servers.append(srv)
        srv.start()
        return srv

    def stop_all(self):
        errors = []
        for srv in self.servers:
            try:
                srv.stop()
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module", params=MODES)
def mode(request):
    """single (foyer -X), prefork, worker or event."""
    return request.param


@pytest.fixture
def make_server(tmp_path, mode):
    n = iter(range(1000))
    factory = ServerFactory(lambda: tmp_path / f"srv{next(n)}", mode)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def make_module_server(tmp_path_factory, mode):
    factory = ServerFactory(lambda: tmp_path_factory.mktemp("srv"), mode)
    yield factory
    factory.stop_all()


@pytest.fixture
def make_mpm_server(tmp_path):
    """Like make_server, not parametrised: the test passes mode=."""
    n = iter(range(1000))
    factory = ServerFactory(lambda: tmp_path / f"srv{next(n)}", "single")
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def make_module_mpm_server(tmp_path_factory):
    """Like make_module_server, not parametrised: the test passes mode=."""
    factory = ServerFactory(lambda: tmp_path_factory.mktemp("srv"), "single")
    yield factory
    factory.stop_all()
