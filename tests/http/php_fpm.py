"""A private php-fpm8.2 for the FastCGI tests: its own config, pid file,
error log and sockets in a temp directory, a document root with the test
scripts, and helpers to point a foyer config at it.

One master runs several FPM pools (pm = static): "main" on a unix socket
for most tests, "tcp" on 127.0.0.1:PORT, "slow" for the tests that keep
children busy (queueing, timeouts) and "keep" for the foyer pools that
keep idle connections (each pins an FPM child), so that these never starve
the others. The master is stopped by its pid."""

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from foyer_http import Helper, children_of, free_port, open_to_others, poll

FPM_NAMES = ("php-fpm8.2", "/usr/sbin/php-fpm8.2")

# Children per FPM pool. foyer keeps idle connections to FPM and each one
# pins an FPM child, so most foyer pools in these tests keep none
# (keep_alive = 0); the ones that test keeping keep one per child or thread.
FPM_CHILDREN = {"main": 4, "tcp": 2, "slow": 4,
                # as many as the threads of a test foyer (worker: 2 x 4)
                "keep": 8}

# The FastCGI params the main pool's access log records, in this order.
ACCESS_PARAMS = ("REQUEST_URI", "HTTP_PROXY", "PHP_VALUE",
                 "PHP_ADMIN_VALUE", "HTTP_PHP_VALUE", "HTTP_X_UNDER")

# The size of every line big.php writes, and the line itself.
BIG_LINE = 1024


def big_line(i):
    """Line i of big.php's output (BIG_LINE bytes)."""
    head = b"%09d " % i
    return head + b"x" * (BIG_LINE - len(head) - 1) + b"\n"


def big_body(lines):
    return b"".join(big_line(i) for i in range(lines))


SCRIPTS = {
    # Everything PHP saw of the request, as JSON.
    "env.php": r"""<?php
$files = [];
foreach ($_FILES as $k => $f) {
    $files[$k] = ['name' => $f['name'], 'size' => $f['size'],
                  'error' => $f['error'],
                  'md5' => $f['error'] === 0 ? md5_file($f['tmp_name']) : ''];
}
// The FastCGI connection this child serves: the connected socket whose
// name is the listening socket's (fd 0 is the listening socket itself).
$conn = '';
$unix = [];
foreach (@file('/proc/net/unix') ?: [] as $line) {
    $c = preg_split('/\s+/', trim($line));
    if (count($c) >= 8 && $c[5] === '03')
        $unix[$c[6]] = $c[7];
}
foreach (scandir('/proc/self/fd') as $fd) {
    if ($fd === '.' || $fd === '..' || $fd === '0')
        continue;
    $t = @readlink("/proc/self/fd/$fd");
    if ($t !== false && preg_match('/^socket:\[(\d+)\]$/', $t, $m)
        && isset($unix[$m[1]]))
        $conn = $unix[$m[1]] . ' ' . $m[1];
}
$in = file_get_contents('php://input');
header('Content-Type: application/json');
echo json_encode([
    'server' => $_SERVER,
    'get' => $_GET,
    'post' => $_POST,
    'files' => $files,
    'cookie' => $_COOKIE,
    'input_len' => strlen($in),
    'input_md5' => md5($in),
    'input' => strlen($in) <= 4096 ? $in : '',
    'pid' => getmypid(),
    'fcgi_conn' => $conn,
    'getenv_proxy' => getenv('HTTP_PROXY'),
]);
""",
    # ?code=NNN&reason=TEXT: a Status header as the script writes it.
    "status.php": r"""<?php
$code = (int)($_GET['code'] ?? 200);
$reason = $_GET['reason'] ?? '';
header(trim("Status: $code $reason"));
header('X-Status-Test: yes');
echo "status body $code\n";
""",
    # POST: 303 to the env dumper (redirect after POST); ?plain=1 (any
    # method): a Location with no Status line at all (the status is put
    # back to 200 after header() made it 302, so PHP sends no Status).
    "redirect.php": r"""<?php
if ($_SERVER['REQUEST_METHOD'] === 'POST' && !isset($_GET['plain'])) {
    header('Location: /env.php?saved=' . urlencode($_POST['item'] ?? ''),
           true, 303);
    exit;
}
header('Location: /env.php?from=redirect');
http_response_code(200);
""",
    # ?lines=N: N lines of BIG_LINE bytes (see big_line()); ?progress=FILE
    # also records how many lines went out, after each flush.
    "big.php": r"""<?php
$n = (int)($_GET['lines'] ?? 1);
$progress = $_GET['progress'] ?? '';
header('Content-Type: application/octet-stream');
$pad = str_repeat('x', %d);
for ($i = 0; $i < $n; $i += 64) {
    $out = '';
    for ($j = $i; $j < min($n, $i + 64); $j++)
        $out .= sprintf('%%09d ', $j) . $pad . "\n";
    echo $out;
    flush();
    if ($progress !== '')
        file_put_contents($progress, (string)min($n, $i + 64));
}
""" % (BIG_LINE - 11),
    # ?msg=TEXT: written to FastCGI STDERR by error_log().
    "stderr.php": r"""<?php
error_log('stderr-test ' . ($_GET['msg'] ?? ''));
echo "logged\n";
""",
    # ?ms=N: sleeps, then answers "START END PID" (microtime() at both
    # ends); ?mark=FILE is written when it starts.
    "slow.php": r"""<?php
$start = microtime(true);
if (isset($_GET['mark']))
    file_put_contents($_GET['mark'], (string)getmypid());
usleep((int)($_GET['ms'] ?? 100) * 1000);
printf("%.6f %.6f %d\n", $start, microtime(true), getmypid());
""",
    # ?ms=N: answers a first line at once, then sleeps before the last:
    # a request whose connection runs on after it was answered.
    "answered.php": r"""<?php
echo "answered\n";
flush();
usleep((int)($_GET['ms'] ?? 100) * 1000);
echo "done\n";
""",
    # Framing and hop-by-hop headers a script must not get through.
    "hop.php": r"""<?php
header('Content-Length: 3');
header('Transfer-Encoding: chunked');
header('Connection: close');
header('Keep-Alive: timeout=99');
header('Upgrade: h2c');
header('Trailer: X-After');
header('X-Kept: yes');
echo "hello from hop\n";
""",
    # ?names=a,b: ini_get() of each, and whether ini_set() could change it.
    "ini.php": r"""<?php
header('Content-Type: application/json');
$out = [];
foreach (explode(',', $_GET['names'] ?? '') as $n) {
    $before = ini_get($n);
    $out[$n] = ['value' => $before];
    if (isset($_GET['try'])) {
        $out[$n]['set'] = ini_set($n, $_GET['try']) !== false;
        ini_set($n, $before);
    }
}
echo json_encode($out);
""",
    # Set-Cookie three times, and the cookies the client sent.
    "cookies.php": r"""<?php
setcookie('a', '1');
setcookie('b', 'two', ['path' => '/', 'httponly' => true]);
header('Set-Cookie: c=3; Path=/', false);
header('Content-Type: application/json');
echo json_encode($_COOKIE);
""",
    # A fatal error with display_errors off: PHP itself answers 500, and
    # logs the error (to FastCGI STDERR, error_log being unset).
    "fatal.php": r"""<?php
ini_set('display_errors', '0');
ini_set('log_errors', '1');
echo_undefined_function_here();
""",
    # The front controller: what a router would look at.
    "index.php": r"""<?php
header('Content-Type: application/json');
echo json_encode([
    'controller' => true,
    'REQUEST_URI' => $_SERVER['REQUEST_URI'],
    'QUERY_STRING' => $_SERVER['QUERY_STRING'],
    'SCRIPT_NAME' => $_SERVER['SCRIPT_NAME'],
    'PATH_INFO' => $_SERVER['PATH_INFO'] ?? null,
    'get' => $_GET,
]);
""",
    # Not PHP: the upload an attacker hopes to run.
    "uploads/x.jpg": "<?php echo 'EXECUTED-JPG';\n",
    "uploads/y.php.txt": "<?php echo 'EXECUTED-TXT';\n",
    "static.txt": "plain static file\n",
}


def find_fpm():
    for name in FPM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("php-fpm8.2 not found: install the Debian package "
                         "php8.2-fpm")


class Fpm(Helper):
    """A php-fpm8.2 master with the pools of FPM_CHILDREN, started in
    workdir. Attributes: www (document root), sock (main pool), slow_sock,
    tcp_port, log (FPM's error log), pid."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.www = self.dir / "www"
        self.sock = self.dir / "main.sock"
        self.slow_sock = self.dir / "slow.sock"
        self.keep_sock = self.dir / "keep.sock"
        self.tcp_port = None
        self.log = self.dir / "fpm.log"
        self.pid_file = self.dir / "fpm.pid"
        self.conf = self.dir / "fpm.conf"
        # Each line of the main pool's access log: the raw FastCGI params
        # below, as FPM received them ("-" when absent).
        self.access_log = self.dir / "access-main.log"
        # A socket file nobody listens on (connect: ECONNREFUSED).
        self.dead_sock = self.dir / "dead.sock"
        self.proc = None
        self.www.mkdir(parents=True, exist_ok=True)
        for rel, text in SCRIPTS.items():
            p = self.www / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        (self.dir / "tmp").mkdir(exist_ok=True)
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(str(self.dead_sock))
        dead.close()
        # foyer's children run as nobody when the tests run as root: they
        # must reach the sockets and check that the scripts exist.
        open_to_others(self.dir)

    def pool_text(self, name, listen):
        root = os.geteuid() == 0
        return (
            f"[{name}]\n"
            + ("user = root\ngroup = root\n" if root else "")
            + f"listen = {listen}\n"
            "listen.mode = 0666\n"
            "pm = static\n"
            f"pm.max_children = {FPM_CHILDREN[name]}\n"
            # A child pinned by an idle kept connection is freed at last.
            "request_terminate_timeout = 30s\n"
            "catch_workers_output = yes\n"
            f"php_admin_value[upload_tmp_dir] = {self.dir / 'tmp'}\n"
            "php_admin_value[memory_limit] = 128M\n"
        )

    def write_conf(self):
        self.tcp_port = free_port()
        self.conf.write_text(
            "[global]\n"
            f"pid = {self.pid_file}\n"
            f"error_log = {self.log}\n"
            "daemonize = no\n"
            "log_level = notice\n"
            + self.pool_text("main", self.sock)
            + f"access.log = {self.access_log}\n"
            + "access.format = \"" + "|".join(
                "%{" + p + "}e" for p in ACCESS_PARAMS) + "\"\n"
            + self.pool_text("tcp", f"127.0.0.1:{self.tcp_port}")
            + "listen.allowed_clients = 127.0.0.1\n"
            + self.pool_text("slow", self.slow_sock)
            + self.pool_text("keep", self.keep_sock)
        )

    def start(self, attempts=3):
        for _ in range(attempts):
            if self._start_once():
                return self
        raise AssertionError("php-fpm8.2 did not start\n" + self.log_text())

    def _start_once(self):
        self.write_conf()
        args = [find_fpm(), "-n", "-F", "-y", str(self.conf)]
        if os.geteuid() == 0:
            args.insert(1, "-R")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            return (self.proc.poll() is not None
                    or (self.sock.exists() and self.slow_sock.exists()
                        and self.keep_sock.exists()
                        and self.tcp_listening()
                        and self.children_count() >= sum(FPM_CHILDREN.values())))

        poll(up, 10)
        if self.proc.poll() is not None:
            if "Address already in use" in self.log_text():
                return False
            raise AssertionError(
                f"php-fpm8.2 exited with {self.proc.returncode}\n"
                + self.log_text())
        if not up():
            self.stop()
            raise AssertionError("php-fpm8.2 did not start its pools\n"
                                 + self.log_text())
        return True

    @property
    def pid(self):
        return self.proc.pid

    def children_count(self):
        return len(children_of(self.proc.pid))

    def tcp_listening(self):
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                cols = line.split()
                if (int(cols[1].split(":")[1], 16) == self.tcp_port
                        and cols[3] == "0A"):
                    return True
        return False

    def access_entry(self, marker, timeout=5):
        """{param: value or None} of the access log line whose REQUEST_URI
        holds marker (FPM writes it when the request ends), or None."""
        def find():
            try:
                text = self.access_log.read_text(errors="replace")
            except FileNotFoundError:
                return None
            for line in text.splitlines():
                values = line.split("|")
                if len(values) == len(ACCESS_PARAMS) and marker in values[0]:
                    return {k: (None if v == "-" else v)
                            for k, v in zip(ACCESS_PARAMS, values)}
            return None
        return poll(find, timeout)

    def pool(self, name, backends, **settings):
        """A foyer [pool NAME] section. backends: "main", "slow", "keep", "tcp" or
        any backend string (a dead socket, say), one or a list."""
        if isinstance(backends, str):
            backends = [backends]
        lines = [f"[pool {name}]"]
        for b in backends:
            lines.append("backend = " + self.backend(b))
        opts = {"keep_alive": 0}
        opts.update(settings)
        for k, v in opts.items():
            lines.append(f"{k} = {v}")
        return "\n" + "\n".join(lines) + "\n"

    def connections(self, which):
        """FastCGI connections FPM holds open on a unix pool now: the
        connected sockets named after its listening socket."""
        return len(self.connection_inodes(which))

    def connection_inodes(self, which):
        """The inodes of those connections (FPM's ends)."""
        path = self.backend(which)[len("unix:"):]
        found = []
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                cols = line.split()
                if len(cols) >= 8 and cols[5] == "03" and cols[7] == path:
                    found.append(cols[6])
        return found

    def backend(self, which):
        if which == "main":
            return f"unix:{self.sock}"
        if which == "slow":
            return f"unix:{self.slow_sock}"
        if which == "keep":
            return f"unix:{self.keep_sock}"
        if which == "dead":
            return f"unix:{self.dead_sock}"
        if which == "tcp":
            return f"127.0.0.1:{self.tcp_port}"
        return which

    def site(self, pool, **settings):
        """A foyer site serving the scripts through pool."""
        conf = {"document_root": str(self.www), "php": f"fpm:{pool}"}
        conf.update(settings)
        return conf


def json_body(resp):
    assert resp.status == 200, (resp.status, resp.body[:2000])
    return json.loads(resp.body)


def read_all(client):
    """Everything until the server closes, in a bytearray (fast for large
    bodies, unlike growing bytes)."""
    out = bytearray(client.buf)
    client.buf = b""
    chunk = bytearray(1 << 20)
    while True:
        n = client.sock.recv_into(chunk)
        if n == 0:
            return out
        out += chunk[:n]


def split_response(data, head=False):
    """(status, headers dict with lower-case names, body) of one raw
    response; a chunked body is decoded."""
    end = data.index(b"\r\n\r\n")
    lines = bytes(data[:end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    pos = end + 4
    if head:
        return status, headers, b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            nl = data.index(b"\r\n", pos)
            size = int(bytes(data[pos:nl]).split(b";")[0], 16)
            pos = nl + 2
            if size == 0:
                break
            body += data[pos:pos + size]
            assert data[pos + size:pos + size + 2] == b"\r\n"
            pos += size + 2
        return status, headers, bytes(body)
    return status, headers, bytes(data[pos:])


def vm_rss_kb(pid):
    """VmRSS of a process in kB, or 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_stable(read, quiet=0.5, timeout=30):
    """Waits until read() returns the same value for quiet seconds (or
    timeout passes); returns the last value."""
    deadline = time.monotonic() + timeout
    last = read()
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


@pytest.fixture(scope="module")
def fpm(tmp_path_factory):
    """The private php-fpm8.2 of a test module (import this name)."""
    f = Fpm(tmp_path_factory.mktemp("fpm")).start()
    yield f
    f.stop()
