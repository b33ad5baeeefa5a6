#!/usr/bin/env python3
"""idle_hold.py - hold N idle keep-alive connections open to an HTTP server.

Opens N connections to HOST:PORT (at most --wave connection attempts in
flight at once, so the server's listen backlog is not what we measure), sends
one keep-alive GET on each and reads its response. A connection that got a
complete response is "held": the server has served it and now keeps it idle.

Then it prints one JSON line:
    {"n": N, "held": H, "failed": F, "pending": P, "seconds": S}
(pending: no response before --timeout; the server may still have them in
its backlog) and waits. Each "check" line on stdin answers with
    {"alive": A}
the number of held connections the server has not closed yet. End of input
or "quit" closes everything and exits.

bench/run drives it; by hand:
    python3 bench/idle_hold.py --port 8080 --path /1k.html -n 1000
"""

import argparse
import errno
import json
import resource
import select
import socket
import sys
import time

CONNECTING, SENDING, READING, HELD, FAILED = range(5)


class Conn:
    __slots__ = ("sock", "state", "buf", "need", "sent")

    def __init__(self, sock):
        self.sock = sock
        self.state = CONNECTING
        self.buf = b""
        self.need = -1  # total bytes of the response, once the head is read
        self.sent = 0


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft >= want:
        return
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def response_length(buf):
    """Bytes of the whole response if its head is complete, else -1."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return -1
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return end + 4 + length


def hold(args):
    raise_nofile(args.n)
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {args.host}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode()
    ep = select.epoll()
    conns = {}
    started = 0
    in_flight = 0
    held = failed = 0
    t0 = time.monotonic()
    deadline = t0 + args.timeout

    def fail(c):
        nonlocal failed, in_flight
        ep.unregister(c.sock.fileno())
        c.sock.close()
        c.state = FAILED
        failed += 1
        in_flight -= 1

    while held + failed < args.n and time.monotonic() < deadline:
        while started < args.n and in_flight < args.wave:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rc = s.connect_ex((args.host, args.port))
            c = Conn(s)
            conns[s.fileno()] = c
            started += 1
            in_flight += 1
            if rc not in (0, errno.EINPROGRESS):
                c.state = FAILED
                s.close()
                failed += 1
                in_flight -= 1
                continue
            ep.register(s.fileno(), select.EPOLLOUT)
        for fd, ev in ep.poll(0.05):
            c = conns[fd]
            if c.state == CONNECTING:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c)
                    continue
                c.state = SENDING
            if c.state == SENDING:
                try:
                    c.sent += c.sock.send(request[c.sent:])
                except BlockingIOError:
                    continue
                except OSError:
                    fail(c)
                    continue
                if c.sent == len(request):
                    c.state = READING
                    ep.modify(fd, select.EPOLLIN)
                continue
            if c.state == READING:
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    fail(c)
                    continue
                if not data:
                    fail(c)
                    continue
                c.buf += data
                if c.need < 0:
                    c.need = response_length(c.buf)
                if 0 <= c.need <= len(c.buf):
                    ok = c.buf.startswith(b"HTTP/1.1 200")
                    c.buf = b""
                    ep.unregister(fd)
                    if ok:
                        c.state = HELD
                        held += 1
                        in_flight -= 1
                    else:
                        c.sock.close()
                        c.state = FAILED
                        failed += 1
                        in_flight -= 1

    pending = args.n - held - failed
    print(json.dumps({"n": args.n, "held": held, "failed": failed,
                      "pending": pending,
                      "seconds": round(time.monotonic() - t0, 3)}), flush=True)

    for line in sys.stdin:
        if line.strip() != "check":
            break
        alive = 0
        for c in conns.values():
            if c.state != HELD:
                continue
            try:
                data = c.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                alive += 1 if data else 0
            except BlockingIOError:
                alive += 1
            except OSError:
                pass
        print(json.dumps({"alive": alive}), flush=True)

    for c in conns.values():
        if c.state != FAILED:
            c.sock.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", default="/")
    p.add_argument("-n", type=int, default=1000, help="connections to hold")
    p.add_argument("--wave", type=int, default=256,
                   help="connection attempts in flight at once")
    p.add_argument("--timeout", type=float, default=15.0,
                   help="seconds to get all N responses")
    hold(p.parse_args())


if __name__ == "__main__":
    main()
