#!/usr/bin/env python3
"""Client side of `bench/compare --mode footprint` (python3 stdlib only).

`idle_conns.py conns PORT N --hold S`: opens N keep-alive connections to
127.0.0.1:PORT, at most --batch of them connecting or waiting for a response
at a time; each sends one `GET /` and reads its whole response, then stays
open and idle. Prints `ready DONE failed F secs T`, holds for S seconds (the
caller reads the server's memory then), prints `open K` (how many of the DONE
connections the server has not closed meanwhile) and exits, which closes
them all. Bounded by --deadline for the opening phase.

`idle_conns.py startup PORT --out FILE`: prints `armed` to FILE, then tries
connect + `GET /` in a tight loop (0.5 ms apart) until a response status line
arrives, and prints `ready NS` (time.time_ns() of that moment, the same clock
as bash's EPOCHREALTIME) to FILE. The caller starts the server after `armed`,
so Python's own start-up is not counted. Bounded by --deadline.

With --tls, both speak TLS (certificate not verified: the benchmark's own,
self-signed). Each connection makes a full handshake: no session is offered.
TLS sockets set TCP_NODELAY, as curl, wrk and browsers do: with Nagle on,
the request written right after the client's Finished waits for the ACK of
that Finished, and a server that sends nothing after the handshake (plexgate
holds its TLS 1.3 tickets until its first response) acks it ~40 ms later.
A connection counts as done once its response has been read, which also
takes in the TLS 1.3 session tickets the server sent before it.
"""
import argparse
import errno
import selectors
import socket
import ssl
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: plexgate-bench\r\n\r\n"


def response_complete(buf):
    """True once buf holds a whole response head plus its Content-Length body."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(buf) >= end + 4 + length


def client_context():
    """A TLS client context that accepts the benchmark's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def conns(args):
    addr = ("127.0.0.1", args.port)
    sel = selectors.DefaultSelector()
    ctx = client_context() if args.tls else None
    done = []
    failed = 0
    started = 0
    in_flight = 0
    bufs = {}
    shaking = set()  # TLS sockets whose handshake is not finished

    def fail(s):
        nonlocal failed, in_flight
        sel.unregister(s)
        bufs.pop(s, None)
        shaking.discard(s)
        s.close()
        failed += 1
        in_flight -= 1

    def send_request(s):
        s.send(REQUEST)  # 70 bytes into an empty socket buffer: never partial
        bufs[s] = b""
        sel.modify(s, selectors.EVENT_READ)

    def handshake(s):
        try:
            s.do_handshake()
        except ssl.SSLWantReadError:
            sel.modify(s, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            sel.modify(s, selectors.EVENT_WRITE)
            return
        except (ssl.SSLError, OSError):
            fail(s)
            return
        shaking.discard(s)
        send_request(s)
    t0 = time.monotonic()
    deadline = t0 + args.deadline
    while len(done) + failed < args.count and time.monotonic() < deadline:
        while in_flight < args.batch and started < args.count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if ctx is not None:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            rc = s.connect_ex(addr)
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                failed += 1
                started += 1
                continue
            sel.register(s, selectors.EVENT_WRITE)
            started += 1
            in_flight += 1
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            if s in shaking:
                handshake(s)
                continue
            if key.events == selectors.EVENT_WRITE and s not in bufs:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    fail(s)
                    continue
                if ctx is not None:
                    # Connected: wrap in place (same fd, same registration).
                    sel.unregister(s)
                    s = ctx.wrap_socket(s, server_hostname="localhost", do_handshake_on_connect=False)
                    sel.register(s, selectors.EVENT_WRITE)
                    shaking.add(s)
                    handshake(s)
                    continue
                send_request(s)
                continue
            try:
                chunk = s.recv(65536)
                # (TLS: whole records are decrypted at once; drain what is left)
                while ctx is not None and chunk and s.pending():
                    chunk += s.recv(65536)
            except ssl.SSLWantReadError:
                continue  # a record split across segments, or only a ticket
            except OSError:
                chunk = b""
            if not chunk:
                fail(s)
                continue
            bufs[s] += chunk
            if response_complete(bufs[s]):
                sel.unregister(s)
                del bufs[s]
                done.append(s)
                in_flight -= 1
    # Not done by the deadline counts as failed too.
    print(f"ready {len(done)} failed {args.count - len(done)} secs {time.monotonic() - t0:.2f}", flush=True)
    time.sleep(args.hold)
    still_open = 0
    for s in done:
        if ctx is not None:
            # Reads (and so consumes) what came meanwhile: we exit next anyway.
            # A TLS 1.3 ticket sent late is no data: still open and idle.
            try:
                if s.recv(1):
                    still_open += 1  # unexpected bytes, but open
            except ssl.SSLWantReadError:
                still_open += 1  # nothing to read: open and idle
            except (ssl.SSLError, OSError):
                pass  # closed, or close_notify then closed
            continue
        try:
            data = s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if data:
                still_open += 1  # unexpected bytes, but open
        except BlockingIOError:
            still_open += 1  # nothing to read: open and idle
        except OSError:
            pass
    print(f"open {still_open}", flush=True)


def startup(args):
    addr = ("127.0.0.1", args.port)
    ctx = client_context() if args.tls else None
    with open(args.out, "w", encoding="ascii") as out:
        out.write("armed\n")
        out.flush()
        deadline = time.monotonic() + args.deadline
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(addr, timeout=1) as raw:
                    if ctx is not None:
                        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    s = ctx.wrap_socket(raw, server_hostname="localhost") if ctx is not None else raw
                    s.sendall(REQUEST)
                    if s.recv(16).startswith(b"HTTP/1.1 "):
                        out.write(f"ready {time.time_ns()}\n")
                        return 0
            except OSError:  # (ssl.SSLError is an OSError)
                pass
            time.sleep(0.0005)
        out.write("timeout\n")
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("conns")
    c.add_argument("port", type=int)
    c.add_argument("count", type=int)
    c.add_argument("--hold", type=float, default=3.0)
    c.add_argument("--batch", type=int, default=256)
    c.add_argument("--deadline", type=float, default=60.0)
    c.add_argument("--tls", action="store_true")
    s = sub.add_parser("startup")
    s.add_argument("port", type=int)
    s.add_argument("--out", required=True)
    s.add_argument("--deadline", type=float, default=10.0)
    s.add_argument("--tls", action="store_true")
    args = p.parse_args()
    if args.cmd == "conns":
        conns(args)
        return 0
    return startup(args)


if __name__ == "__main__":
    sys.exit(main())
