"""Managed PHP-FPM pools (spawn = php-fpm8.2): foyer writes the pool's
configuration next to its pid file, starts PHP-FPM as its own child, serves
PHP through it, starts it again when it dies (its orphaned workers go too)
and stops it on shutdown. Under -X and each MPM; needs Debian's
php8.2-fpm (never skipped)."""

import os
import pwd
import signal

from foyer_http import (CHILD_USER, children_of, live_processes,
                        open_to_others, poll)

SCRIPT = r"""<?php
echo getmypid(), ' ',
     function_exists('posix_geteuid') ? posix_geteuid() : -1, "\n";
"""


def fpm_master(srv):
    """The PHP-FPM master foyer started: its child running php-fpm."""
    for pid in children_of(srv.pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(b"php-fpm" in a for a in argv):
            return pid
    return None


def process_group(pgid):
    """Live processes of a process group."""
    return live_processes(2, pgid)


def get_pid(srv):
    """(FPM worker pid, its euid) from the script, or None."""
    with srv.connect(10) as c:
        c.send("GET /pid.php HTTP/1.1\r\nHost: localhost\r\n"
               "Connection: close\r\n\r\n")
        r = c.read_response()
    if r.status != 200:
        return None
    pid, euid = r.body.split()
    return int(pid), int(euid)


def test_managed_pool_lives_and_dies_with_foyer(make_server):
    srv = make_server(
        files={"pid.php": SCRIPT},
        sites=[("default", {"php": "fpm:m"})],
        extra="\n[pool m]\nspawn = php-fpm8.2\nspawn_children = 2\n",
        # PHP-FPM's workers run as an unprivileged user when started by
        # root: they must reach the scripts
        prepare=lambda s: open_to_others(s.dir))
    # the listening socket takes connections before PHP-FPM is up
    assert srv.wait_error_log("pool m: started php-fpm8.2 (pid ")
    conf = (srv.dir / "php-fpm-m.conf").read_text()
    assert "pm = static\n" in conf and "pm.max_children = 2\n" in conf
    assert (srv.dir / "php-fpm-m.sock").exists()

    first = poll(lambda: get_pid(srv), 10)
    assert first is not None
    master = fpm_master(srv)
    assert master is not None
    workers = [p for p in process_group(master) if p != master]
    assert len(workers) == 2, workers
    assert first[0] in workers
    if os.geteuid() == 0 and srv.forked:
        # PHP runs as the user foyer's children run as
        assert first[1] == pwd.getpwnam(CHILD_USER).pw_uid

    # PHP-FPM dies: logged, started again, its orphaned workers gone
    os.kill(master, signal.SIGKILL)
    assert srv.wait_error_log(
        f"pool m: php-fpm8.2 (pid {master}) exited (signal 9); "
        "starting it again")
    assert poll(lambda: not process_group(master), 10), \
        process_group(master)
    again = poll(lambda: get_pid(srv), 10)
    assert again and again[0] not in workers, (again, workers)
    second = fpm_master(srv)
    assert second is not None and second != master

    # foyer stops: so does its PHP-FPM, workers and all
    srv.stop()
    assert poll(lambda: not process_group(second), 10), \
        process_group(second)
