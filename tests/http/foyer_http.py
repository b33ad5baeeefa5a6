"""Helpers for the black-box tests: start the real foyer binary on a free
loopback port with a generated config, and talk to it over real sockets.

The tests import this module directly; conftest.py turns it into fixtures.
"""

import os
import re
import signal
import socket
import stat
import subprocess
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOYER_BIN = os.environ.get("FOYER_BIN") or str(ROOT / "build" / "foyer")

SERVER_VERSION = "foyer/0.1.0"
SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "ThreadSanitizer",
)

# RFC 7231 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} GMT$"
)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
IO_TIMEOUT = 5.0

# How the server runs: "single" is foyer -X (one process); the others are
# the master with that MPM under -D FOREGROUND.
MODES = ("single", "prefork", "worker", "event")
MPMS = MODES[1:]

# Small process models, so that every test stays quick under each MPM.
MPM_SETTINGS = {
    "prefork": {"StartServers": 2, "MinSpareServers": 1,
                "MaxSpareServers": 3, "MaxRequestWorkers": 16},
    "worker": {"StartServers": 2, "ServerLimit": 2, "ThreadsPerChild": 4,
               "MaxRequestWorkers": 8, "MinSpareThreads": 1,
               "MaxSpareThreads": 8},
    "event": {"StartServers": 2, "ServerLimit": 2, "ThreadsPerChild": 4,
              "MaxRequestWorkers": 8, "MinSpareThreads": 1,
              "MaxSpareThreads": 8},
}

# Who the children become when the tests run as root.
CHILD_USER = "nobody"
CHILD_GROUP = "nogroup"


def free_port():
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ini_value(value):
    if value is True:
        return "on"
    if value is False:
        return "off"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def ini_section(header, settings):
    lines = [f"[{header}]"]
    for key, value in settings.items():
        values = value if isinstance(value, list) and key == "listen" else [value]
        for v in values:
            lines.append(f"{key} = {ini_value(v)}")
    return "\n".join(lines) + "\n"


def write_tree(base, files):
    """Creates files under base: {"a/b.txt": "text" or b"bytes"}."""
    base = Path(base)
    for rel, content in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        p.write_bytes(content)


def poll(predicate, timeout=IO_TIMEOUT, interval=0.05):
    """Calls predicate until it returns a true value or timeout passes;
    returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def proc_fields(pid):
    """The fields of /proc/PID/stat after the command name (state, ppid,
    pgrp, ...), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name may hold spaces and parentheses: split after the last
    return text[text.rindex(")") + 2:].split()


def proc_stat(pid):
    """(state, ppid, starttime) of a process from /proc/PID/stat, or None
    once it is gone."""
    fields = proc_fields(pid)
    if fields is None:
        return None
    return fields[0], int(fields[1]), int(fields[19])


def stale_epoll_items(pid):
    """Items of pid's epoll sets that no descriptor of pid names any more:
    an epoll item lives as long as its open file, so a descriptor closed
    while another process still has the file (one sent over a unix socket)
    leaves its item behind, reported ready on every wait. [(epoll fd,
    target fd, inode)]."""
    stale = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return stale
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:[eventpoll]":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for m in re.finditer(r"^tfd:\s*(\d+)\s.*?ino:([0-9a-f]+)", info,
                             re.M):
            tfd, ino = m.group(1), int(m.group(2), 16)
            try:
                st = os.stat(f"/proc/{pid}/fd/{tfd}")
            except (FileNotFoundError, ProcessLookupError):
                st = None
            if st is None or st.st_ino != ino:
                stale.append((int(fd), int(tfd), ino))
    return stale


def live_processes(field, value):
    """The live (not zombie) processes whose stat field (1: ppid, 2: pgrp)
    is value, sorted."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = proc_fields(int(name))
        if fields and fields[0] != "Z" and int(fields[field]) == value:
            out.append(int(name))
    return sorted(out)


def children_of(pid):
    """The live (not zombie) processes whose parent is pid."""
    return live_processes(1, pid)


class Helper:
    """A process a test starts beside foyer (php-fpm, MariaDB): proc, a
    subprocess.Popen, and log, the path of its log."""

    stop_timeout = 10

    def log_text(self):
        return _read_text(self.log)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def proc_ids(pid):
    """{"Uid": [real, effective, saved, fs], "Gid": [...]} of a process."""
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid"):
                ids[key] = [int(v) for v in value.split()]
    return ids


def fd_count_of(pid):
    """Open descriptors of a process, None once it is gone."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None


def fd_targets(pids):
    """What the descriptors of the processes point to now ("socket:[INODE]",
    file paths, ...); processes and descriptors that go away meanwhile are
    skipped."""
    out = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                continue
    return out


def gone(pid, starttime):
    """True when the process that had this start time no longer runs (it
    exited, is a zombie, or the pid now belongs to another process)."""
    st = proc_stat(pid)
    return st is None or st[0] == "Z" or st[2] != starttime


def open_to_others(path):
    """Lets an unprivileged child reach path: o+x on every folder above it,
    o+rx on folders and o+r on files below it."""
    path = Path(path).resolve()
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
    for top, dirs, files in os.walk(path):
        for name in [top] + [os.path.join(top, f) for f in files]:
            st = os.lstat(name)
            if stat.S_ISLNK(st.st_mode):
                continue
            extra = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(st.st_mode) else 0)
            if st.st_mode & extra != extra:
                os.chmod(name, stat.S_IMODE(st.st_mode) | extra)


class Response:
    def __init__(self, version, status, reason, headers, body, raw):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in order
        self.body = body
        self.raw = raw  # head and body bytes as received

    def header(self, name):
        """The value of the first field called name (case-insensitive)."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def has_token(self, name, token):
        return any(
            t.strip().lower() == token.lower()
            for v in self.header_all(name)
            for t in v.split(",")
        )

    def __repr__(self):
        return f"<Response {self.status} {self.headers!r} body={len(self.body)}B>"


class Client:
    """One TCP connection with a buffer; reads responses one at a time so
    pipelining and keep-alive can be checked on the wire."""

    def __init__(self, port, timeout=IO_TIMEOUT, source=None):
        """source: the local address to connect from (127.0.0.2, say)."""
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self):
        if self.eof:
            raise EOFError("connection closed by the server")
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            raise EOFError("connection closed by the server")
        self.buf += data

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head=False):
        """Reads one response (a 1xx interim response is returned as such).
        head: the request was HEAD, so there is no body whatever the
        headers say."""
        raw_head = self._read_until(b"\r\n\r\n")
        lines = raw_head[:-4].decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            assert sep, f"bad header line {line!r}"
            headers.append((name, value.strip()))
        status = int(m.group(2))
        resp = Response(m.group(1), status, m.group(3), headers, b"", raw_head)
        if head or status < 200 or status in (204, 304):
            return resp
        te = resp.header("Transfer-Encoding")
        cl = resp.header("Content-Length")
        raw_body = b""
        if te and "chunked" in te.lower():
            body = b""
            while True:
                size_line = self._read_until(b"\r\n")
                raw_body += size_line
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while True:
                        trailer = self._read_until(b"\r\n")
                        raw_body += trailer
                        if trailer == b"\r\n":
                            break
                    break
                chunk = self._read_exact(size + 2)
                raw_body += chunk
                body += chunk[:-2]
        elif cl is not None:
            body = raw_body = self._read_exact(int(cl))
        else:
            body = self.read_to_eof()
            raw_body = body
        resp.body = body
        resp.raw = raw_head + raw_body
        return resp

    def read_to_eof(self):
        """Everything until the server closes (or the timeout raises)."""
        while not self.eof:
            try:
                self._fill()
            except EOFError:
                break
        out, self.buf = self.buf, b""
        return out

    def closed_by_server(self, timeout=IO_TIMEOUT):
        """True when the server closes the connection within timeout without
        sending anything more; False when more bytes arrive or it stays open."""
        if self.buf:
            return False
        if self.eof:
            return True
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        if data:
            self.buf += data
            return False
        self.eof = True
        return True


class Server:
    """A foyer process with its own config, logs and document roots under
    workdir. Start with start(); stop() checks that it ended well."""

    def __init__(self, workdir, server=None, sites=None, files=None, extra="",
                 mode="single", mpm=None):
        """mode: one of MODES. mpm: directives for the MPM's section, over
        MPM_SETTINGS (ignored in single mode)."""
        assert mode in MODES, mode
        self.mode = mode
        self.mpm_settings = dict(MPM_SETTINGS.get(mode, {}))
        self.mpm_settings.update(mpm or {})
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.root = self.dir / "www"
        self.root.mkdir(exist_ok=True)
        if files:
            write_tree(self.root, files)
        self.config_path = self.dir / "foyer.ini"
        self.error_log_path = self.dir / "error.log"
        self.access_log_path = self.dir / "access.log"
        self.stderr_path = self.dir / "stderr.log"
        self.pid_file = self.dir / "foyer.pid"
        self.settings = {
            "error_log": str(self.error_log_path),
            "log_level": "info",
            "pid_file": str(self.pid_file),
        }
        if self.forked:
            self.settings["mpm"] = mode
            if os.geteuid() == 0:
                self.settings["user"] = CHILD_USER
                self.settings["group"] = CHILD_GROUP
        self.settings.update(server or {})
        self.sites = sites if sites is not None else [("default", {})]
        self.extra = extra
        self.proc = None
        self.stderr_file = None
        self.known_children = {}  # pid -> start time, of every child seen
        self.write_config(free_port())

    @property
    def forked(self):
        return self.mode != "single"

    def write_config(self, port):
        self.port = port
        text = ini_section("server", {"listen": f"127.0.0.1:{port}", **self.settings})
        for i, (name, site) in enumerate(self.sites):
            conf = {}
            if i == 0:
                conf["document_root"] = str(self.root)
                conf["access_log"] = str(self.access_log_path)
            conf.update(site)
            text += "\n" + ini_section(f"site {name}", conf)
        if self.forked:
            text += "\n" + ini_section(self.mode, self.mpm_settings)
        self.config_text = text + self.extra
        self.config_path.write_text(self.config_text)

    @property
    def pid(self):
        return self.proc.pid

    def start(self, attempts=3):
        """Starts foyer and waits until it accepts connections. Another
        process may take the free port first: then it tries another."""
        for _ in range(attempts):
            if self._start_once():
                return self
            self.write_config(free_port())
        raise AssertionError("no free port after retries\n" + self.diagnostics())

    def command(self):
        if self.forked:
            return [FOYER_BIN, "-D", "FOREGROUND", "-f", str(self.config_path)]
        return [FOYER_BIN, "-X", "-f", str(self.config_path)]

    def _start_once(self):
        if self.stderr_file:
            self.stderr_file.close()
        if self.forked and os.geteuid() == 0:
            open_to_others(self.dir)
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self.stderr_file,
            stderr=self.stderr_file,
            cwd=self.dir,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "in use" in self.stderr() + self.error_log():
                    return False
                raise AssertionError(
                    f"foyer exited with {self.proc.returncode} at start\n"
                    + self.diagnostics()
                )
            if self.listening():
                if self.forked:
                    self.wait_ready(deadline)
                return True
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise AssertionError("foyer did not accept connections\n" + self.diagnostics())

    def start_servers(self):
        """How many children the master starts with (Apache's clamping)."""
        m = {k.lower(): v for k, v in self.mpm_settings.items()}
        if self.mode == "prefork":
            return max(1, min(int(m.get("startservers", 5)),
                              int(m.get("maxrequestworkers", 256))))
        tpc = int(m.get("threadsperchild", 25))
        limit = min(int(m.get("maxrequestworkers", 400)) // tpc,
                    int(m.get("serverlimit", 16)))
        return max(1, min(int(m.get("startservers", 3)), limit))

    def wait_ready(self, deadline):
        """Waits until the first children run (as the configured user when
        started as root) and a request is answered; then empties the
        access log so that tests see only their own requests."""
        want = self.start_servers()
        drop = os.geteuid() == 0 and self.settings.get("user") != "root"

        def children_up():
            kids = self.children()
            if len(kids) < want:
                return False
            try:
                return not drop or all(proc_ids(k)["Uid"][0] != 0 for k in kids)
            except FileNotFoundError:
                return False

        if not poll(children_up, max(0.1, deadline - time.monotonic())):
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"foyer did not start {want} children\n" + self.diagnostics())
        status = self.settings_status_path()
        try:
            with self.connect(START_TIMEOUT) as c:
                c.send(f"GET {status}?auto HTTP/1.1\r\nHost: localhost\r\n"
                       "Connection: close\r\n\r\n")
                c.read_response()
        except (OSError, EOFError) as e:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"foyer did not answer: {e!r}\n" + self.diagnostics())
        log = self.first_access_log()
        if log is not None:
            # the line is written after the response: wait for it
            poll(lambda: _read_text(log).endswith("\n"), IO_TIMEOUT)
            if log.exists():
                os.truncate(log, 0)

    def settings_status_path(self):
        """[status] path from the extra config text, or the default."""
        section = None
        for line in self.extra.splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]").strip().lower()
                continue
            key, _, value = line.partition("=")
            if section == "status" and key.strip().lower() == "path":
                return value.split(";")[0].strip()
        return "/server-status"

    def first_access_log(self):
        """The access log of the default site (the first one), which logs
        the readiness request; None when unknown or off."""
        if "include" in self.settings:
            return None  # included sites come first: one of them answers
        value = self.sites[0][1].get("access_log", str(self.access_log_path))
        if value in (False, "off", None):
            return None
        p = Path(value)
        return p if p.is_absolute() else self.dir / p

    def children(self):
        """The master's live children now (none in single mode); each is
        remembered with its start time, so stop() can wait for it."""
        if not self.forked or self.proc is None:
            return []
        # a managed pool's PHP-FPM is the master's child too, not foyer's
        # (a child that exits while it is looked at has no name: gone)
        kids = [k for k in children_of(self.proc.pid)
                if (comm := _read_text(f"/proc/{k}/comm"))
                and not comm.startswith("php-fpm")]
        for k in kids:
            st = proc_stat(k)
            if st:
                self.known_children.setdefault(k, st[2])
        return kids

    def child_fd_counts(self):
        """{pid: open descriptors} of every live child."""
        counts = {}
        for k in self.children():
            n = fd_count_of(k)
            if n is not None:
                counts[k] = n
        return counts

    def listening(self):
        """True once this process (not some other one that took the port)
        holds a socket listening on the port."""
        mine = {t[8:-1] for t in fd_targets([self.pid])
                if t.startswith("socket:[")}
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                cols = line.split()
                port = int(cols[1].split(":")[1], 16)
                if port == self.port and cols[3] == "0A" and cols[9] in mine:
                    return True  # 0A: LISTEN
        return False

    def diagnostics(self):
        return (
            f"--- config\n{self.config_text}"
            f"--- stderr\n{self.stderr()}"
            f"--- error log\n{self.error_log()}"
        )

    def stderr(self):
        return _read_text(self.stderr_path)

    def wait_children_gone(self, timeout=STOP_TIMEOUT):
        """Waits until every child ever seen has exited; returns those
        still running after timeout."""
        def left():
            return [p for p, t in self.known_children.items() if not gone(p, t)]
        poll(lambda: not left(), timeout)
        return left()

    def error_log(self):
        return _read_text(self.error_log_path)

    def access_log(self, path=None):
        return _read_text(path or self.access_log_path)

    def access_lines(self, path=None):
        return [l for l in self.access_log(path).split("\n") if l]

    def wait_access_lines(self, n, path=None, timeout=IO_TIMEOUT):
        """Waits until the access log has at least n lines; returns them."""
        poll(lambda: len(self.access_lines(path)) >= n, timeout)
        return self.access_lines(path)

    def wait_error_log(self, text, timeout=IO_TIMEOUT):
        return poll(lambda: text in self.error_log(), timeout)

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def connect(self, timeout=IO_TIMEOUT):
        return Client(self.port, timeout)

    def raw(self, data, timeout=IO_TIMEOUT):
        """Sends data on a new connection and returns all the server sends
        until it closes or timeout passes without new bytes."""
        with self.connect(timeout) as c:
            c.send(data)
            try:
                return c.read_to_eof()
            except socket.timeout:
                return c.buf

    def request(self, data, head=False):
        """Sends one raw request on a new connection; returns its response."""
        with self.connect() as c:
            c.send(data)
            return c.read_response(head=head)

    def get(self, path, host="localhost", headers=""):
        return self.request(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}"
            "Connection: close\r\n\r\n"
        )

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM):
        """Stops the server and checks it exited 0 with no sanitizer report."""
        if self.proc is None or self.stderr_file.closed:
            return
        proc = self.proc
        self.children()  # remember who runs now, to wait for them too
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self.stderr_file.close()
                raise AssertionError(
                    f"foyer did not stop within {STOP_TIMEOUT}s of signal {sig}\n"
                    + self.diagnostics()
                )
        left = self.wait_children_gone()
        self.stderr_file.close()
        assert not left, (
            f"children {left} still run after the master exited\n"
            + self.diagnostics())
        err = self.stderr()
        for mark in SANITIZER_MARKS:
            assert mark not in err, f"sanitizer report in stderr:\n{err}"
        assert proc.returncode == 0, (
            f"foyer exited with {proc.returncode}\n" + self.diagnostics()
        )


def _read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        # a file not there yet, or a process gone while it was read
        return ""


def run_foyer(*args, cwd=None, timeout=10):
    """Runs the binary to completion (for -t and -V)."""
    return subprocess.run(
        [FOYER_BIN, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def http_date_ok(value, slack=300):
    """True for an IMF-fixdate within slack seconds of now."""
    if not value or not IMF_FIXDATE.match(value):
        return False
    return abs(parsedate_to_datetime(value).timestamp() - time.time()) <= slack
