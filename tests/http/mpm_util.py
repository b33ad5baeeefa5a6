"""Helpers for the MPM tests: the status page, a bounded load generator, and
the process tree of a running master."""

import hashlib
import json
import threading
import time

from foyer_http import Client, poll

H = "Host: localhost\r\n"


def fetch(srv, path, source=None):
    """GET path on a new connection (from the source address when given);
    returns the response."""
    with Client(srv.port, source=source) as c:
        c.send(f"GET {path} HTTP/1.1\r\n{H}Connection: close\r\n\r\n")
        return c.read_response()


def status_auto(srv, path="/server-status"):
    """The ?auto page as (first line, [(key, value), ...]) in page order."""
    r = fetch(srv, path + "?auto")
    assert r.status == 200, r
    lines = r.body.decode("latin-1").split("\n")
    assert lines[-1] == "", "the page ends with a newline"
    pairs = []
    for line in lines[1:-1]:
        # "ServerUptime:" has no value in the first second, as Apache's
        key, sep, value = line.partition(":")
        assert sep and (value == "" or value.startswith(" ")), \
            f"not a 'Key: value' line: {line!r}"
        pairs.append((key, value[1:]))
    return lines[0], pairs


def status(srv, path="/server-status"):
    """The ?auto page as a dict."""
    return dict(status_auto(srv, path)[1])


def status_json(srv, path="/server-status"):
    r = fetch(srv, path + "?json")
    assert r.status == 200, r
    return json.loads(r.body)


class Load:
    """threads clients for about seconds: each alternates a keep-alive
    connection carrying several requests and a fresh connection per request,
    and checks every response (status 200 and the exact body). Bounded in
    count (max_requests per thread) and time."""

    def __init__(self, srv, path, body, threads=4, seconds=3.0,
                 max_requests=3000):
        self.srv = srv
        self.path = path
        self.body = body
        self.n = threads
        self.seconds = seconds
        self.max_requests = max_requests
        self.ok = 0
        self.failures = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = []

    def _request(self, c, close):
        conn = "Connection: close\r\n" if close else ""
        c.send(f"GET {self.path} HTTP/1.1\r\n{H}{conn}\r\n")
        r = c.read_response()
        if r.status != 200 or r.body != self.body:
            raise AssertionError(f"bad response {r!r}")
        return r

    def _run(self, k):
        deadline = time.monotonic() + self.seconds
        done = 0
        while (not self.stop_flag.is_set() and time.monotonic() < deadline
               and done < self.max_requests):
            keep_alive = (done // 5) % 2 == 0
            try:
                if keep_alive:
                    with self.srv.connect() as c:
                        for i in range(5):
                            r = self._request(c, close=(i == 4))
                            done += 1
                            if r.has_token("Connection", "close") and i < 4:
                                # the server may end a kept connection
                                # (restart, limits): allowed, said openly
                                break
                else:
                    with self.srv.connect() as c:
                        self._request(c, close=True)
                        done += 1
                with self.lock:
                    self.ok += 1
            except Exception as e:  # every failure is reported
                with self.lock:
                    self.failures.append(f"thread {k}: {e!r}")
                done += 1

    def __enter__(self):
        for k in range(self.n):
            t = threading.Thread(target=self._run, args=(k,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def wait(self):
        for t in self.threads:
            t.join(self.seconds + 30)
        assert not any(t.is_alive() for t in self.threads), "load hung"

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.stop_flag.set()
        self.wait()


def wait_for(predicate, what, srv, timeout=15.0):
    """poll() with a generous bound and a useful message: the children, the
    scoreboard when the status page answers, and the logs."""
    value = poll(predicate, timeout, 0.1)
    if not value:
        try:
            board = status(srv)["Scoreboard"]
        except (AssertionError, OSError, EOFError) as e:
            board = repr(e)
        raise AssertionError(
            f"timed out waiting for {what}\nchildren {srv.children()}, "
            f"scoreboard {board!r}\n" + srv.diagnostics())
    return value


def finish_download(s, body, expect):
    """Reads the rest of a response body from socket s (body: what came
    so far), checks it is expect, and that the server then closes the
    kept-alive connection."""
    while len(body) < len(expect):
        chunk = s.recv(16384)
        assert chunk, f"closed after {len(body)} of {len(expect)} bytes"
        body += chunk
    assert hashlib.sha256(body).digest() == hashlib.sha256(expect).digest()
    assert s.recv(1) == b""
