"""common.py - constants, process and memory helpers, and the run's directories.

Shared by bench/run, servers.py and report.py.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import secrets
import tempfile
import time
import urllib.parse
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
# The tests' WordPress helpers (private MariaDB, private copy of WordPress).
sys.path.insert(0, os.path.join(REPO, "tests", "http"))

# The shared php-fpm pool: pm = static with this many children, opcache on.
FPM_CHILDREN = 4
# Long enough that the idle keep-alive test can hold its connections while
# it measures; the same for every server.
KEEP_ALIVE_TIMEOUT = 30
MAX_KEEP_ALIVE_REQUESTS = 100000
CONCURRENCY = 100
# wrk connections on WordPress's home page: a few per php-fpm child, as a
# busy small site would see.
WORDPRESS_CONCURRENCY = 20
WORDPRESS_TITLE = "foyer bench blog"
AB_REQUESTS = 10000
CLK_TCK = os.sysconf("SC_CLK_TCK")

PHP_VERSION = "8.2"
FPM_BIN = f"php-fpm{PHP_VERSION}"
APACHE_BIN = "/usr/sbin/apache2"
APACHE_MODULES = "/usr/lib/apache2/modules"

# Apache's MPM settings as Debian ships them (mods-available/mpm_*.conf);
# foyer gets the same numbers under the same names.
MPM_SETTINGS = {
    "prefork": [("StartServers", 5), ("MinSpareServers", 5),
                ("MaxSpareServers", 10), ("MaxRequestWorkers", 150),
                ("MaxConnectionsPerChild", 0)],
    "worker": [("StartServers", 2), ("MinSpareThreads", 25),
               ("MaxSpareThreads", 75), ("ThreadLimit", 64),
               ("ThreadsPerChild", 25), ("MaxRequestWorkers", 150),
               ("MaxConnectionsPerChild", 0)],
    "event": [("StartServers", 2), ("MinSpareThreads", 25),
              ("MaxSpareThreads", 75), ("ThreadLimit", 64),
              ("ThreadsPerChild", 25), ("MaxRequestWorkers", 150),
              ("MaxConnectionsPerChild", 0)],
}

# Debian packages that provide what a peer or a tool needs.
PACKAGES = {
    "wrk": ["wrk"],
    "ab": ["apache2-utils"],
    "nginx": ["nginx"],
    "apache2": ["apache2"],
    "mod_php": ["libapache2-mod-php8.2"],
    "php-fpm": ["php8.2-fpm", "php8.2-opcache"],
    "gnuplot": ["gnuplot-nox"],
    "fastcgi.h": ["libfcgi-dev"],
    "cc": ["gcc", "libc6-dev"],
    # WordPress's own package leaves its default theme to Recommends.
    "wordpress": ["wordpress", "wordpress-theme-twentytwentythree", "mariadb-server"],
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fmt_time(seconds):
    seconds = max(0, int(seconds))
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_root():
    return os.geteuid() == 0


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def command_output(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"({e})"


# ---------------------------------------------------------------------------
# Processes and memory

def process_tree(roots):
    """roots and every descendant, from /proc (ppid links)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    seen, todo = [], [p for p in roots if p and alive(p)]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo.extend(children.get(pid, []))
    return seen


def proc_texts(pids, name):
    """/proc/PID/name read whole, for each of pids still there."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/{name}") as f:
                text = f.read()
        except OSError:
            continue
        yield text


def cpu_ticks(pids):
    """User + system CPU time, in clock ticks, summed over pids, with what
    their children already reaped had used: a child that exits between two
    samples moves from its own count to its parent's, and is not lost."""
    t = 0
    for text in proc_texts(pids, "stat"):
        # The command name may hold spaces: count fields after its ')'.
        # utime, stime, cutime, cstime are fields 14 to 17.
        fields = text[text.rindex(")") + 2:].split()
        t += sum(int(f) for f in fields[11:15])
    return t


def idle_ticks():
    """Clock ticks every CPU has spent idle (idle + iowait) since boot."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[4]) + int(fields[5])


def memory(pids):
    """(processes, RSS kB, PSS kB) summed over pids from smaps_rollup."""
    n = rss = pss = 0
    for text in proc_texts(pids, "smaps_rollup"):
        m_rss = re.search(r"^Rss:\s+(\d+) kB", text, re.M)
        m_pss = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        if m_rss and m_pss:
            n += 1
            rss += int(m_rss.group(1))
            pss += int(m_pss.group(1))
    return n, rss, pss


def stop_tree(roots, extra=None, timeout=10.0):
    """SIGTERM the roots, wait for the whole tree to go, SIGKILL leftovers."""
    pids = process_tree(roots)
    for pid in roots:
        if pid and alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if extra is not None:
            extra.poll()
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if extra is not None:
        try:
            extra.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    return False


# ---------------------------------------------------------------------------
# The run: directories, document root, php-fpm, pinning

class Run:
    def __init__(self, args):
        self.args = args
        self.root = is_root()
        self.tmp = tempfile.mkdtemp(prefix="foyer-bench-")
        # Servers that drop privileges must reach the document root.
        os.chmod(self.tmp, 0o755)
        self.docroot = os.path.join(self.tmp, "docroot")
        self.logs = os.path.join(self.tmp, "logs")
        self.conf = os.path.join(self.tmp, "conf")
        for d in (self.docroot, self.logs, self.conf):
            os.makedirs(d, mode=0o755)
        self.fpm_sock = os.path.join(self.tmp, "php-fpm.sock")
        self.fpm_pid = os.path.join(self.tmp, "php-fpm.pid")
        self.fpm_running = False
        self.wordpress = None  # WordPress under docroot/wp/ when set up
        self.mariadb = None
        # wrk's delay() hook: each connection waits 10 ms between requests,
        # so the second client of the idle test is a light, steady load.
        self.slow_script = os.path.join(self.conf, "slow.lua")
        write(self.slow_script, "function delay()\n    return 10\nend\n")
        self.notes = []
        self.tools = {}
        ncpu = os.cpu_count() or 1
        if args.pin and ncpu >= 2:
            half = ncpu // 2
            self.server_cpus = set(range(0, half))
            self.client_cpus = set(range(half, ncpu))
        else:
            self.server_cpus = self.client_cpus = None
        self.wrk_threads = max(1, min(4, len(self.client_cpus) if self.client_cpus else ncpu))

    def note(self, msg):
        # The work directory is temporary; its conf/ and logs/ are copied
        # into the results, so name files relative to it.
        msg = msg.replace(self.tmp + "/", "")
        if msg not in self.notes:
            self.notes.append(msg)
        log(f"note: {msg}")

    def server_preexec(self):
        cpus = self.server_cpus

        def pin():
            if cpus:
                os.sched_setaffinity(0, cpus)
        return pin

    def client_preexec(self):
        cpus = self.client_cpus

        def pin():
            if cpus:
                os.sched_setaffinity(0, cpus)
        return pin

    def make_docroot(self):
        write(os.path.join(self.docroot, "index.html"), "<h1>foyer bench</h1>\n")
        # 1 KiB and 100 KiB of text, so no server compresses or guesses.
        line = "foyer bench static file, the same bytes for every server.\n"
        for name, size in (("1k.html", 1024), ("100k.html", 100 * 1024)):
            body = (line * (size // len(line) + 1))[:size - 1] + "\n"
            write(os.path.join(self.docroot, name), body)
        write(os.path.join(self.docroot, "hello.php"),
              '<?php echo "Hello, World!";\n')
        for dirpath, dirnames, filenames in os.walk(self.docroot):
            os.chmod(dirpath, 0o755)
            for f in filenames:
                os.chmod(os.path.join(dirpath, f), 0o644)

    def start_fpm(self):
        if self.fpm_running:
            return True
        if not shutil.which(FPM_BIN):
            return False
        user = "user = www-data\ngroup = www-data\n" if self.root else ""
        conf = os.path.join(self.conf, "php-fpm.conf")
        write(conf, f"""; php-fpm pool shared by every PHP server of the run
[global]
pid = {self.fpm_pid}
error_log = {self.logs}/php-fpm.log
daemonize = yes

[bench]
{user}listen = {self.fpm_sock}
listen.mode = 0666
listen.backlog = 1024
pm = static
pm.max_children = {FPM_CHILDREN}
pm.max_requests = 0
catch_workers_output = no
php_admin_value[opcache.enable] = 1
php_admin_value[opcache.memory_consumption] = 128
""")
        check = subprocess.run([FPM_BIN, "-t", "-y", conf], capture_output=True, text=True)
        if check.returncode != 0:
            self.note(f"php-fpm: the pool config was refused: {check.stderr.strip()}")
            return False
        p = subprocess.run([FPM_BIN, "-y", conf], capture_output=True, text=True,
                           preexec_fn=self.server_preexec())
        if p.returncode != 0:
            self.note(f"php-fpm did not start: {p.stderr.strip()}")
            return False
        for _ in range(100):
            if os.path.exists(self.fpm_sock) and read_pid(self.fpm_pid):
                self.fpm_running = True
                return True
            time.sleep(0.05)
        self.note("php-fpm did not create its socket")
        return False

    def setup_wordpress(self, install_server):
        """WordPress at /wp/: a private MariaDB under tmp/mariadb and a copy
        of Debian's WordPress in docroot/wp whose URL follows the Host
        header (every server has its own port). install_server: a stopped
        server with PHP, started once to run the installer. None when it
        works, else why not."""
        import wordpress
        why = wordpress.missing()
        if why:
            return why
        try:
            self.mariadb = wordpress.MariaDB(os.path.join(self.tmp, "mariadb")).start()
            wp = wordpress.WordPress(
                os.path.join(self.docroot, "wp"), self.mariadb, "wordpress",
                home_prefix="/wp", fpm_user="www-data" if self.root else None).create()
        except (AssertionError, OSError) as e:
            return f"MariaDB or the WordPress copy failed: {str(e).splitlines()[0]}"
        form = wordpress.install_form(WORDPRESS_TITLE, "admin", secrets.token_hex(12),
                                      "admin@example.org")
        if install_server.prepare(self) or not install_server.start(self):
            install_server.stop(self)
            return f"{install_server.name} did not start to run the installer"
        try:
            req = urllib.request.Request(
                install_server.url("/wp/wp-admin/install.php?step=2"),
                data=urllib.parse.urlencode(form).encode(), method="POST")
            with urllib.request.urlopen(req, timeout=120) as r:
                page = r.read().decode(errors="replace")
        except OSError as e:
            return f"the installer failed: {e}"
        finally:
            install_server.stop(self)
        if "<h1>Success!</h1>" not in page:
            return "the installer did not say Success!"
        self.wordpress = wp.root
        return None

    def stop_mariadb(self):
        if self.mariadb:
            self.mariadb.stop()
            self.mariadb = None

    def stop_fpm(self):
        pid = read_pid(self.fpm_pid)
        if pid:
            stop_tree([pid])
        self.fpm_running = False

    def wait_fpm_idle(self, timeout=60.0):
        """Waits until no php-fpm child is running (state R) for a moment.

        A client that goes away leaves its requests in php-fpm's backlog,
        and php-fpm runs them all the same; WordPress's take long enough to
        slow down whatever is measured next. True once idle."""
        end = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < end:
            busy = False
            for pid in self.fpm_pids():
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        busy |= f.read().rsplit(")", 1)[1].split()[0] in ("R", "D")
                except OSError:
                    pass
            quiet = 0 if busy else quiet + 1
            if quiet >= 5:
                return True
            time.sleep(0.05)
        return False

    def fpm_pids(self):
        pid = read_pid(self.fpm_pid)
        return process_tree([pid]) if pid else []
