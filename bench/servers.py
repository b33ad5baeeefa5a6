"""servers.py - the servers bench/run can measure.

Each one writes its own configuration for the run, starts on 127.0.0.1,
stops by its pid file and names its processes for the memory figures. Add a
server by adding an instance to make_servers().
"""

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

from common import (APACHE_BIN, APACHE_MODULES, FPM_CHILDREN, KEEP_ALIVE_TIMEOUT,
                    MAX_KEEP_ALIVE_REQUESTS, MPM_SETTINGS, PHP_VERSION, free_port,
                    process_tree, read_pid, stop_tree, write)


class Server:
    name = ""
    label = ""           # the "MPM" column of the users' table
    serves_static = True
    php = None           # "fpm", "inprocess" or None
    peer = True          # ratio columns are computed against peers
    default = True       # part of --quick without --servers
    only = None          # workload names this server runs (None: all)

    def __init__(self):
        self.port = None
        self.php_ok = False
        self.wordpress_ok = True  # until its /wp/ is checked
        self.popen = None

    def prepare(self, run):
        """None if the server can run, else the reason it is skipped."""
        return None

    def start(self, run):
        raise NotImplementedError

    def stop(self, run):
        raise NotImplementedError

    def pids(self, run):
        return []

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def uses_fpm(self):
        return self.php == "fpm"


def http_get(url, timeout=3.0):
    req = urllib.request.Request(url, headers={"Connection": "close"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (OSError, ValueError) as e:
        return None, str(e).encode()


def wait_listening(port, proc=None, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        if proc is not None and proc.poll() not in (None, 0):
            return False
        time.sleep(0.05)
    return False


class Foyer(Server):
    """foyer: -X (one process) or an MPM; PHP through the pool or in-process."""

    def __init__(self, name, mpm=None, php="fpm", label=None):
        super().__init__()
        self.name = name
        self.mpm = mpm
        self.php = php
        self.label = label or (f"foyer {mpm}" if mpm else "foyer -X")
        self.peer = False
        self.serves_static = php != "inprocess"
        self.conf_path = None
        self.pid_file = None
        self.accepted_php = False

    def binary(self, run):
        return run.args.foyer

    def config(self, run, with_php):
        lines = ["[server]"]
        if self.mpm:
            lines.append(f"mpm = {self.mpm}")
        lines += [
            f"listen = 127.0.0.1:{self.port}",
            f"error_log = {run.logs}/{self.name}.error.log",
            f"pid_file = {self.pid_file}",
            "keep_alive = on",
            f"keep_alive_timeout = {KEEP_ALIVE_TIMEOUT}",
            f"max_keep_alive_requests = {MAX_KEEP_ALIVE_REQUESTS}",
        ]
        if self.mpm:
            lines += ["", f"[{self.mpm}]"]
            lines += [f"{k} = {v}" for k, v in MPM_SETTINGS[self.mpm]]
        if with_php and self.php == "fpm":
            # php-fpm binds a child to a kept-alive connection; foyer
            # closes its kept connections while requests wait for FPM, so
            # each process may keep as many as FPM has children.
            lines += ["", "[pool fpm]", f"backend = unix:{run.fpm_sock}",
                      f"max_connections = {FPM_CHILDREN}",
                      f"keep_alive = {FPM_CHILDREN}"]
        lines += ["", "[site bench]", f"document_root = {run.docroot}",
                  "index = index.html index.php", "access_log = off"]
        if with_php:
            lines.append("php = fpm:fpm" if self.php == "fpm" else "php = inprocess")
        return "\n".join(lines) + "\n"

    def check(self, run, text):
        write(self.conf_path, text)
        p = subprocess.run([self.binary(run), "-t", "-f", self.conf_path],
                           capture_output=True, text=True, timeout=20)
        return p.returncode == 0, (p.stdout + p.stderr).strip()

    def prepare(self, run):
        if not run.tools.get("foyer"):
            return "no foyer binary (make failed)"
        self.port = free_port()
        self.conf_path = os.path.join(run.conf, f"{self.name}.ini")
        self.pid_file = os.path.join(run.tmp, f"{self.name}.pid")
        ok, msg = self.check(run, self.config(run, with_php=True))
        if ok:
            self.accepted_php = True
            return None
        php_msg = msg
        if self.php == "inprocess":
            return f"foyer does not accept in-process PHP yet: {php_msg.splitlines()[-1] if php_msg else ''}"
        ok, msg = self.check(run, self.config(run, with_php=False))
        if not ok:
            last = msg.splitlines()[-1] if msg else "no message"
            return f"`foyer -t` refuses this config: {last}"
        run.note(f"{self.name}: PHP skipped, `foyer -t` refuses the [pool]/php lines "
                 f"({php_msg.splitlines()[-1] if php_msg else 'no message'})")
        return None

    def start(self, run):
        self.port = free_port()
        text = self.config(run, with_php=self.accepted_php)
        write(self.conf_path, text)
        cmd = [self.binary(run)] + (["-X"] if not self.mpm else []) + ["-f", self.conf_path]
        out = open(os.path.join(run.logs, f"{self.name}.stderr"), "ab")
        self.popen = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                      preexec_fn=run.server_preexec())
        out.close()
        return wait_listening(self.port, self.popen)

    def roots(self):
        roots = []
        pid = read_pid(self.pid_file)
        if pid:
            roots.append(pid)
        if self.popen and self.popen.poll() is None and self.popen.pid not in roots:
            roots.append(self.popen.pid)
        return roots

    def pids(self, run):
        return process_tree(self.roots())

    def stop(self, run):
        roots = self.roots()
        # A master that detached may not have written its pid file yet.
        for _ in range(60):
            if roots:
                break
            time.sleep(0.05)
            roots = self.roots()
        stop_tree(roots, extra=self.popen)
        if self.popen:
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        try:
            os.unlink(self.pid_file)
        except OSError:
            pass

    def mpm_problem(self, run):
        """Why this is not the MPM it claims to be, or None.

        A build without the MPM runs one process as with -X and says so in
        its error log; measuring that under the MPM's name would mislead.
        """
        if not self.mpm:
            return None
        for f in (f"{self.name}.stderr", f"{self.name}.error.log"):
            try:
                with open(os.path.join(run.logs, f), errors="replace") as fh:
                    text = fh.read()
            except OSError:
                continue
            if "not in this build" in text:
                return f"`mpm = {self.mpm}` is not in this build yet (it runs one process as -X)"
        # The master listens before it forks: give the children a moment.
        for _ in range(50):
            if len(self.pids(run)) >= 2:
                return None
            time.sleep(0.1)
        return f"`mpm = {self.mpm}` started only one process, not a master and children"

    def crashed(self):
        """A description if the process died under load, else None."""
        if self.popen and self.popen.poll() is not None and self.popen.returncode != 0:
            rc = self.popen.returncode
            return f"exited with {'signal ' + str(-rc) if rc < 0 else 'status ' + str(rc)}"
        return None


class Nginx(Server):
    def __init__(self, name, workers, fcgi_keepalive, serves_static=True, default=True,
                 open_file_cache=False):
        super().__init__()
        self.default = default
        self.name = name
        self.workers = workers
        self.fcgi_keepalive = fcgi_keepalive
        self.serves_static = serves_static
        self.open_file_cache = open_file_cache
        self.php = "fpm"
        ka = " + FastCGI keep-alive" if fcgi_keepalive else ""
        self.label = f"nginx worker_processes {workers}{ka}"
        if open_file_cache:
            # foyer keeps small files in memory by default; nginx can keep
            # their descriptors and stat (off by default, as Debian ships
            # it). The example of nginx's documentation, static files only.
            self.php = None
            self.only = ("s1k-ka", "s1k-close", "s100k", "ab")
            self.label += " + open_file_cache"

    def prepare(self, run):
        if not run.tools.get("nginx"):
            return "nginx is not installed"
        self.dir = os.path.join(run.tmp, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf_path = os.path.join(run.conf, f"{self.name}.conf")
        return None

    def config(self, run):
        ncpu = os.cpu_count() or 1
        nworkers = 1 if self.workers == "1" else ncpu
        user = "user www-data;\n" if run.root else ""
        upstream_ka = ""
        keep_conn = ""
        ofc = ("    open_file_cache max=1000 inactive=20s;\n"
               if self.open_file_cache else "")
        if self.fcgi_keepalive:
            # As for foyer: cached connections across all workers must not
            # exceed php-fpm's children, or requests wait behind idle ones.
            upstream_ka = f"        keepalive {max(1, FPM_CHILDREN // nworkers)};\n"
            keep_conn = "            fastcgi_keep_conn on;\n"
        d = self.dir
        return f"""# generated by bench/run
{user}worker_processes {self.workers};
pid {d}/nginx.pid;
error_log {run.logs}/{self.name}.error.log warn;
worker_rlimit_nofile 65536;
events {{
    worker_connections {run.args.idle_n + 1024};
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout {KEEP_ALIVE_TIMEOUT};
    keepalive_requests {MAX_KEEP_ALIVE_REQUESTS};
{ofc}    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream php {{
        server unix:{run.fpm_sock};
{upstream_ka}    }}
    server {{
        listen 127.0.0.1:{self.port};
        server_name localhost;
        root {run.docroot};
        index index.html index.php;
        location ~ \\.php$ {{
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass php;
{keep_conn}        }}
    }}
}}
"""

    def start(self, run):
        self.port = free_port()
        write(self.conf_path, self.config(run))
        p = subprocess.run(["nginx", "-p", self.dir + "/", "-e",
                            f"{run.logs}/{self.name}.error.log", "-c", self.conf_path],
                           capture_output=True, text=True, preexec_fn=run.server_preexec())
        if p.returncode != 0:
            run.note(f"{self.name} did not start: {p.stderr.strip()}")
            return False
        return wait_listening(self.port)

    def pids(self, run):
        pid = read_pid(os.path.join(self.dir, "nginx.pid"))
        return process_tree([pid]) if pid else []

    def stop(self, run):
        pid = read_pid(os.path.join(self.dir, "nginx.pid"))
        if pid:
            stop_tree([pid])


class Apache(Server):
    def __init__(self, name, mpm):
        super().__init__()
        self.name = name
        self.mpm = mpm
        if mpm == "prefork":
            self.php = "inprocess"
            self.label = "Apache prefork + mod_php"
        else:
            self.php = "fpm"
            self.label = f"Apache {mpm} + proxy_fcgi"

    def prepare(self, run):
        if not run.tools.get("apache2"):
            return "apache2 is not installed"
        if self.php == "inprocess" and not run.tools.get("mod_php"):
            return "libapache2-mod-php8.2 is not installed"
        if self.mpm != "prefork" and not os.path.exists(f"{APACHE_MODULES}/mod_proxy_fcgi.so"):
            return "mod_proxy_fcgi is missing"
        self.dir = os.path.join(run.tmp, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.conf_path = os.path.join(run.conf, f"{self.name}.conf")
        self.port = free_port()
        write(self.conf_path, self.config(run))
        p = subprocess.run([APACHE_BIN, "-t", "-f", self.conf_path],
                           capture_output=True, text=True, env=self.env(run))
        if p.returncode != 0:
            return f"apache2 -t refuses the generated config: {p.stderr.strip()}"
        return None

    def env(self, run):
        # Debian's binary reads these from the environment only when a
        # config refers to them; ours does not, but set them to our
        # directories so nothing falls back to the system's.
        env = dict(os.environ)
        env.update({"APACHE_RUN_DIR": self.dir, "APACHE_LOCK_DIR": self.dir,
                    "APACHE_PID_FILE": f"{self.dir}/apache2.pid",
                    "APACHE_LOG_DIR": run.logs,
                    "APACHE_RUN_USER": "www-data", "APACHE_RUN_GROUP": "www-data",
                    "LANG": "C"})
        return env

    def config(self, run):
        mods = [f"mpm_{self.mpm}", "authz_core", "mime", "dir"]
        if self.php == "fpm":
            mods += ["proxy", "proxy_fcgi"]
        load = [f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so" for m in mods]
        if self.php == "inprocess":
            load.append(f"LoadModule php_module {APACHE_MODULES}/libphp{PHP_VERSION}.so")
        mpm = "\n".join(f"    {k} {v}" for k, v in MPM_SETTINGS[self.mpm])
        user = "User www-data\nGroup www-data\n" if run.root else ""
        if self.php == "fpm":
            php = (f'<FilesMatch "\\.php$">\n'
                   f'    SetHandler "proxy:unix:{run.fpm_sock}|fcgi://localhost"\n'
                   f'</FilesMatch>\n')
        else:
            php = ('<FilesMatch "\\.php$">\n'
                   '    SetHandler application/x-httpd-php\n'
                   '</FilesMatch>\n'
                   'php_admin_flag opcache.enable On\n')
        d = self.dir
        return f"""# generated by bench/run
ServerRoot {d}
DefaultRuntimeDir {d}
PidFile {d}/apache2.pid
Mutex file:{d} default
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
{chr(10).join(load)}
{user}ErrorLog {run.logs}/{self.name}.error.log
LogLevel warn
TypesConfig /etc/mime.types
Timeout 60
KeepAlive On
MaxKeepAliveRequests {MAX_KEEP_ALIVE_REQUESTS}
KeepAliveTimeout {KEEP_ALIVE_TIMEOUT}
EnableSendfile On
<IfModule mpm_{self.mpm}_module>
{mpm}
</IfModule>
DocumentRoot {run.docroot}
DirectoryIndex index.html index.php
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory {run.docroot}>
    Options FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>
{php}"""

    def start(self, run):
        self.port = free_port()
        write(self.conf_path, self.config(run))
        p = subprocess.run([APACHE_BIN, "-f", self.conf_path, "-k", "start"],
                           capture_output=True, text=True, env=self.env(run),
                           preexec_fn=run.server_preexec())
        if p.returncode != 0:
            run.note(f"{self.name} did not start: {p.stderr.strip()}")
            return False
        return wait_listening(self.port)

    def pids(self, run):
        pid = read_pid(os.path.join(self.dir, "apache2.pid"))
        return process_tree([pid]) if pid else []

    def stop(self, run):
        pid = read_pid(os.path.join(self.dir, "apache2.pid"))
        if pid:
            stop_tree([pid], timeout=15)


class FpmDirect(Server):
    """No server: bench/fcgi_load talks FastCGI to php-fpm's socket."""

    def __init__(self):
        super().__init__()
        self.name = "fpm-direct"
        self.label = "php-fpm direct (fcgi_load, no proxy)"
        self.serves_static = False
        self.php = "fpm"

    def prepare(self, run):
        if not run.tools.get("fcgi_load"):
            return "bench/fcgi_load could not be built"
        return None

    def start(self, run):
        return run.fpm_running

    def stop(self, run):
        pass

    def pids(self, run):
        return []


def make_servers():
    return [
        Foyer("foyer-X"),
        Foyer("foyer-prefork", mpm="prefork"),
        Foyer("foyer-worker", mpm="worker"),
        Foyer("foyer-event", mpm="event"),
        Foyer("foyer-prefork-php", mpm="prefork", php="inprocess",
              label="foyer prefork + in-process PHP"),
        Nginx("nginx-1", "1", fcgi_keepalive=False),
        Nginx("nginx-auto", "auto", fcgi_keepalive=False),
        Nginx("nginx-1-fcgika", "1", fcgi_keepalive=True, serves_static=False, default=False),
        Nginx("nginx-auto-fcgika", "auto", fcgi_keepalive=True, serves_static=False),
        Nginx("nginx-auto-ofc", "auto", fcgi_keepalive=False, default=False,
              open_file_cache=True),
        Apache("apache-event", "event"),
        Apache("apache-worker", "worker"),
        Apache("apache-prefork", "prefork"),
        FpmDirect(),
    ]
