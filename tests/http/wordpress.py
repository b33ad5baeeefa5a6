"""A real WordPress for the black-box tests and for bench/: Debian's
wordpress package (6.1) on a private MariaDB server and a private php-fpm8.2
pool, none of them touching the system's services or /etc/wordpress.

- MariaDB: a mariadbd of our own, its data directory made by
  mariadb-install-db in a temp directory, its own unix socket and pid file,
  no TCP (--skip-networking); stopped by its pid. As root it runs with
  --user=root, so the files it makes stay ours.
- WordPress: a copy of /usr/share/wordpress (symlinks into /usr/share/php
  and /usr/share/javascript resolved, so the copy is self-contained), with
  a private wp-content (the themes Debian ships, no plugin) and a
  wp-config.php of its own instead of Debian's, which reads
  /etc/wordpress/config-HOST.php. No external HTTP, no cron, no updates.
- WordPressFpm: a php-fpm8.2 master with one pool for WordPress. Unlike the
  pools of php_fpm.py it reads Debian's php.ini and conf.d (that is where
  php8.2-mysql, gd and opcache are enabled). As root the pool runs as
  www-data, which owns wp-content and the upload directory: the way Debian
  sites run.

No pytest here: bench/run imports this module too.
"""

import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

from foyer_http import Helper, children_of, open_to_others, poll

WORDPRESS_SHARE = Path("/usr/share/wordpress")
MARIADBD = "/usr/sbin/mariadbd"
MARIADB_INSTALL_DB = "mariadb-install-db"
MARIADB_CLIENT = "mariadb"
FPM_BIN = "php-fpm8.2"

# The Debian packages this module needs (scripts/deps.sh installs them for
# the tests): the wordpress package leaves its themes to Recommends.
PACKAGES = ("wordpress", "wordpress-theme-twentytwentythree", "mariadb-server")

# The pool's user when the tests run as root, as on a Debian web server.
FPM_USER = "www-data"

START_TIMEOUT = 30


def missing():
    """None when everything is installed, else what is missing."""
    needs = [(WORDPRESS_SHARE / "wp-settings.php", "wordpress"),
             (WORDPRESS_SHARE / "wp-content/themes/twentytwentythree/theme.json",
              "wordpress-theme-twentytwentythree"),
             (Path(MARIADBD), "mariadb-server")]
    gone = [pkg for path, pkg in needs if not path.exists()]
    if not shutil.which(MARIADB_INSTALL_DB) and "mariadb-server" not in gone:
        gone.append("mariadb-server")
    return ("missing Debian packages: " + " ".join(gone)) if gone else None


def _chown_tree(path, user):
    pw = pwd.getpwnam(user)
    for top, dirs, files in os.walk(path):
        os.chown(top, pw.pw_uid, pw.pw_gid)
        for name in files:
            os.chown(os.path.join(top, name), pw.pw_uid, pw.pw_gid,
                     follow_symlinks=False)


class MariaDB(Helper):
    """A private mariadbd under workdir: data/, run/db.sock, run/db.pid and
    error.log. start() creates the data directory the first time."""

    stop_timeout = 30

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.datadir = self.dir / "data"
        self.rundir = self.dir / "run"
        self.sock = self.rundir / "db.sock"
        self.pid_file = self.rundir / "db.pid"
        self.log = self.dir / "error.log"
        self.proc = None

    def _user_args(self):
        # mariadbd refuses to run as root unless told to.
        return ["--user=root"] if os.geteuid() == 0 else []

    # Small and quick: these servers hold a test's worth of data, and a
    # crash loses nothing anyone wants back.
    SETTINGS = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin",
                "--skip-name-resolve"]

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.rundir.mkdir(exist_ok=True)
        if not (self.datadir / "mysql").exists():
            p = subprocess.run(
                [MARIADB_INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}",
                 "--auth-root-authentication-method=normal", "--skip-test-db",
                 *self._user_args(), *self.SETTINGS],
                capture_output=True, text=True)
            if p.returncode != 0:
                raise AssertionError("mariadb-install-db failed\n"
                                     + p.stdout + p.stderr)
        self.proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={self.datadir}",
             f"--socket={self.sock}", f"--pid-file={self.pid_file}",
             "--skip-networking", f"--log-error={self.log}",
             *self._user_args(), *self.SETTINGS],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                return True
            return self.sock.exists() and self.ping()

        poll(ready, START_TIMEOUT, 0.1)
        if self.proc.poll() is not None or not self.ping():
            self.stop()
            raise AssertionError("mariadbd did not start\n" + self.log_text())
        # The pool's user (www-data as root) connects through the socket.
        open_to_others(self.rundir)
        return self

    def ping(self):
        p = subprocess.run(self.client_args() + ["-e", "SELECT 1"],
                           capture_output=True, text=True)
        return p.returncode == 0

    def client_args(self):
        return [MARIADB_CLIENT, "--no-defaults", f"--socket={self.sock}",
                "--user=root", "--batch", "--skip-column-names"]

    def sql(self, text, database=None):
        """Runs SQL as the server's root; returns the output (tab-separated
        rows)."""
        args = self.client_args() + (["--database", database] if database else [])
        p = subprocess.run(args, input=text, capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"SQL failed: {text}\n{p.stderr}")
        return p.stdout

    def create_database(self, name, user, password):
        """A database and a user who may do anything in it (and nothing
        else), connecting from localhost (the socket)."""
        self.sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4;\n"
                 f"CREATE USER IF NOT EXISTS '{user}'@'localhost' "
                 f"IDENTIFIED BY '{password}';\n"
                 f"GRANT ALL ON `{name}`.* TO '{user}'@'localhost';\n")


WP_CONFIG = """<?php
/* Written by the foyer tests: not Debian's wp-config.php, which would read
 * /etc/wordpress/config-HOST.php. */
define('DB_NAME', '{db_name}');
define('DB_USER', '{db_user}');
define('DB_PASSWORD', '{db_password}');
define('DB_HOST', 'localhost:{db_socket}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
{salts}
$table_prefix = 'wp_';

/* Application passwords need HTTPS, or a local environment. */
define('WP_ENVIRONMENT_TYPE', 'local');
/* Nothing leaves the machine; no background work between requests. */
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('FS_METHOD', 'direct');
define('WP_DEBUG', false);
{home}
if (!defined('ABSPATH'))
    define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
"""

# WordPress at the Host the request names, under prefix: for bench/, where
# every server listens on a port of its own.
WP_HOME_FROM_HOST = """
if (isset($_SERVER['HTTP_HOST'])) {{
    define('WP_HOME', 'http://' . $_SERVER['HTTP_HOST'] . '{prefix}');
    define('WP_SITEURL', 'http://' . $_SERVER['HTTP_HOST'] . '{prefix}');
}}
"""

SALT_NAMES = ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
              "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT")


class WordPress:
    """A copy of Debian's WordPress at root, on database db_name of a
    MariaDB (its user is db_name unless told). home_prefix: None for a fixed site URL (the one the installer
    sees), or the path WordPress lives under when its URL must follow the
    Host header ("" at the top, "/wp" below)."""

    def __init__(self, root, db, db_name, db_user=None, db_password=None,
                 home_prefix=None, fpm_user=None):
        self.root = Path(root)
        self.db = db
        self.db_name = db_name
        self.db_user = db_user or db_name  # a user per database
        self.db_password = db_password or secrets.token_hex(12)
        self.home_prefix = home_prefix
        # Who runs PHP: it must write wp-content (uploads).
        self.fpm_user = fpm_user if fpm_user is not None else (
            FPM_USER if os.geteuid() == 0 else None)
        self.content = self.root / "wp-content"
        self.uploads = self.content / "uploads"

    def create(self):
        self.db.create_database(self.db_name, self.db_user, self.db_password)
        skip = {"wp-config.php", "wp-content", ".htaccess"}
        shutil.copytree(WORDPRESS_SHARE, self.root, symlinks=False,
                        ignore=lambda d, names: [n for n in names if n in skip]
                        if Path(d) == WORDPRESS_SHARE else [])
        self.content.mkdir()
        (self.content / "index.php").write_text("<?php\n// Silence is golden.\n")
        shutil.copytree(WORDPRESS_SHARE / "wp-content/themes", self.content / "themes",
                        symlinks=False)
        (self.content / "plugins").mkdir()
        shutil.copy(WORDPRESS_SHARE / "wp-content/plugins/index.php",
                    self.content / "plugins")
        self.uploads.mkdir()
        salts = "\n".join(f"define('{n}', '{secrets.token_hex(32)}');"
                          for n in SALT_NAMES)
        home = ("" if self.home_prefix is None
                else WP_HOME_FROM_HOST.format(prefix=self.home_prefix))
        (self.root / "wp-config.php").write_text(WP_CONFIG.format(
            db_name=self.db_name, db_user=self.db_user,
            db_password=self.db_password, db_socket=self.db.sock,
            salts=salts, home=home))
        # foyer's children (nobody as root) read it all; PHP writes
        # wp-content.
        open_to_others(self.root)
        if self.fpm_user:
            _chown_tree(self.content, self.fpm_user)
        return self


def install_form(title, user, password, email):
    """The fields of the installer's step 2 (wp-admin/install.php?step=2)."""
    return {"weblog_title": title, "user_name": user,
            "admin_password": password, "admin_password2": password,
            "pw_weak": "1", "admin_email": email, "blog_public": "0",
            "language": "", "Submit": "Install WordPress"}


class WordPressFpm(Helper):
    """A php-fpm8.2 master under workdir with one pool on fpm.sock: pm
    static with `children` children, Debian's php.ini and modules."""

    def __init__(self, workdir, children=4, user=None):
        self.dir = Path(workdir)
        self.sock = self.dir / "fpm.sock"
        self.conf = self.dir / "fpm.conf"
        self.log = self.dir / "fpm.log"
        self.pid_file = self.dir / "fpm.pid"
        self.tmp = self.dir / "tmp"
        self.children = children
        self.user = user if user is not None else (
            FPM_USER if os.geteuid() == 0 else None)
        self.proc = None

    def pool(self, name="wordpress", keep_alive=0):
        """A foyer [pool NAME] section for this FPM."""
        return (f"\n[pool {name}]\nbackend = unix:{self.sock}\n"
                f"keep_alive = {keep_alive}\n")

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(exist_ok=True)
        user = f"user = {self.user}\ngroup = {self.user}\n" if self.user else ""
        if self.user:
            _chown_tree(self.tmp, self.user)
        self.conf.write_text(
            "[global]\n"
            f"pid = {self.pid_file}\n"
            f"error_log = {self.log}\n"
            "daemonize = no\n"
            "[wordpress]\n"
            + user
            + f"listen = {self.sock}\n"
            "listen.mode = 0666\n"
            "pm = static\n"
            f"pm.max_children = {self.children}\n"
            "request_terminate_timeout = 60s\n"
            "catch_workers_output = yes\n"
            f"php_admin_value[upload_tmp_dir] = {self.tmp}\n"
            "php_admin_value[opcache.enable] = 1\n")
        open_to_others(self.dir)
        self.proc = subprocess.Popen([FPM_BIN, "-F", "-y", str(self.conf)],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)

        def up():
            return self.proc.poll() is not None or (
                self.sock.exists()
                and len(children_of(self.proc.pid)) >= self.children)

        poll(up, START_TIMEOUT)
        if self.proc.poll() is not None or not up():
            self.stop()
            raise AssertionError("php-fpm8.2 did not start\n" + self.log_text())
        return self
