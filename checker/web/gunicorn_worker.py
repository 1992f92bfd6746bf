"""gunicorn's threaded worker, with each request read whole in the worker's event loop first.

gunicorn 27's ``gthread`` worker hands a connection to a thread as soon as a byte arrives, and the
thread then reads the headers and the body with blocking reads and no deadline: a client sending its
headers a byte at a time, or a body shorter than its Content-Length, holds a thread for ever, and a
few such clients hold every thread. Here the event loop (non-blocking, one per worker) reads the
request line, the headers and the body (Content-Length or chunked) into memory, and only a complete
request goes to a thread, so slow clients cost a buffer and a file descriptor, never a thread:

- the request line and headers must arrive within ``CHECKER_HEADER_TIMEOUT`` seconds (10) of the
  connection (or, on a kept-alive connection, of its first byte);
- the body may pause at most ``CHECKER_BODY_TIMEOUT`` seconds (10) and must be complete within
  ``CHECKER_REQUEST_TIMEOUT`` seconds (120) of the first byte;
- a late request is answered ``408 Request Timeout`` (JSON, ``"status": "REQUEST_TIMEOUT"``) and closed;
- ``Expect: 100-continue`` is answered by the loop; a request with a body over 32 MB, or one this
  reader cannot frame, goes to a thread as it is (the app refuses a large Content-Length unread;
  the thread's reads there end after ``CHECKER_BODY_TIMEOUT`` of silence);
- responses are sent by the thread with a send timeout (``SO_SNDTIMEO``, 60 s) against clients that
  never read, and connections are closed without blocking the loop (gthread's graceful close waits
  up to 2 s for the client, in the loop).

Requests are then served as by ``gthread`` (same parser, keep-alive, access log). GET, HEAD and OPTIONS
run in a pool of their own (4 threads), so /healthz, polling and result downloads never queue behind
the photo work in the ``threads`` pool. With TLS or HTTP/2 configured the worker is plain ``gthread``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import socket
import struct
import threading
import time
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker


def _seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


HEADER_TIMEOUT = _seconds("CHECKER_HEADER_TIMEOUT", 10.0)
BODY_TIMEOUT = _seconds("CHECKER_BODY_TIMEOUT", 10.0)
REQUEST_TIMEOUT = _seconds("CHECKER_REQUEST_TIMEOUT", 120.0)
SEND_TIMEOUT = 60  # seconds a response may take to leave (a client that does not read)
LINGER = 2.0  # seconds a closing connection is drained before it is closed
MAX_HEAD = 1024 * 1024  # beyond this the headers go to gunicorn's parser, whose limits answer
MAX_BODY = 32 * 1024 * 1024  # beyond this the body is not buffered (the app's limit is lower)
LIGHT_METHODS = (b"GET", b"HEAD", b"OPTIONS")
LIGHT_THREADS = 4

MORE, COMPLETE, AS_IS = "more", "complete", "as-is"
_HEX = frozenset(b"0123456789abcdefABCDEF")

_LATE_BODY = json.dumps({
    "code": 408, "status": "REQUEST_TIMEOUT",
    "message": f"the request did not arrive in time (headers within {HEADER_TIMEOUT:g} s, no pause in the body "
               f"over {BODY_TIMEOUT:g} s, all of it within {REQUEST_TIMEOUT:g} s)",
}).encode()
LATE = (b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n" % len(_LATE_BODY)) + _LATE_BODY
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class Incoming:
    """One request's bytes as they arrive, and whether they make a whole request yet.

    :meth:`feed` answers MORE (wait for bytes), COMPLETE (the request line, headers and body are all
    in :attr:`buf`, perhaps with the start of a pipelined request after them) or AS_IS (not framed
    here: hand it to gunicorn's parser as it is)."""

    def __init__(self, data: bytes = b"") -> None:
        self.buf = bytearray()
        self.head_end: int | None = None  # offset just past the blank line ending the headers
        self.length = 0  # the body's Content-Length
        self.chunked = False
        self.light = False  # GET, HEAD or OPTIONS
        self.expects_continue = False
        self._looked = 0  # how far the blank line was looked for
        self._chunk_at = 0  # a chunked body: where the next chunk-size line starts
        self.state = self.feed(data)

    def feed(self, data: bytes) -> str:
        self.buf += data
        self.state = self._advance()
        return self.state

    def _advance(self) -> str:
        if self.head_end is None:
            at = self.buf.find(b"\r\n\r\n", max(0, self._looked - 3))
            if at < 0:
                self._looked = len(self.buf)
                return AS_IS if len(self.buf) > MAX_HEAD else MORE
            self.head_end = at + 4
            if not self._read_head(bytes(self.buf[:at])):
                return AS_IS
        if self.chunked:
            return self._scan_chunks()
        return COMPLETE if len(self.buf) >= self.head_end + self.length else MORE

    def _read_head(self, head: bytes) -> bool:
        """Framing from the headers; False for anything unusual (gunicorn's parser then decides)."""
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            return False
        method, _, version = parts
        self.light = method in LIGHT_METHODS
        length: int | None = None
        coding: bytes | None = None
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                return False
            name, value = name.strip().lower(), value.strip()
            if name == b"content-length":
                if length is not None or not value.isdigit():
                    return False
                length = int(value)
            elif name == b"transfer-encoding":
                if coding is not None:
                    return False
                coding = value.lower()
            elif name == b"expect":
                self.expects_continue = value.lower() == b"100-continue" and version == b"HTTP/1.1"
        if coding is not None:
            if coding != b"chunked" or length is not None:
                return False
            self.chunked = True
            self._chunk_at = self.head_end or 0
            return True
        self.length = length or 0
        return self.length <= MAX_BODY

    def _scan_chunks(self) -> str:
        buf, head_end = self.buf, self.head_end or 0
        while True:
            eol = buf.find(b"\r\n", self._chunk_at)
            if eol < 0:
                return AS_IS if len(buf) - self._chunk_at > 4096 else MORE
            size_text = bytes(buf[self._chunk_at:eol]).split(b";", 1)[0].strip()
            if not size_text or not set(size_text) <= _HEX:
                return AS_IS
            size = int(size_text, 16)
            if size == 0:  # the last chunk, then trailer lines and a blank line
                if buf.find(b"\r\n\r\n", eol) >= 0:
                    return COMPLETE
                return AS_IS if len(buf) - eol > MAX_HEAD else MORE
            following = eol + 2 + size + 2
            if following - head_end > MAX_BODY:
                return AS_IS
            if len(buf) < following:
                return MORE
            self._chunk_at = following


_waited = threading.local()


def queued_seconds() -> float:
    """How long the request this thread serves waited for a thread, once read whole (0 elsewhere):
    the admission queue counts that wait as part of its own (checker.web.admission)."""
    return float(getattr(_waited, "seconds", 0.0))


class PatientSocket:
    """What the request parser reads a socket through in a thread: a read that would wait longer than
    ``BODY_TIMEOUT``, or past the request's deadline, ends the input as a client gone away would
    (the app then answers a short body with its 4xx, never a 500 or a held thread)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.timed_out = False  # then the connection is not kept alive: where the next request starts is unknown

    def recv(self, size: int) -> bytes:
        remaining = min(BODY_TIMEOUT, self.deadline - time.monotonic())
        if remaining > 0:
            prior = self.sock.gettimeout()
            self.sock.settimeout(remaining if prior is None else min(prior, remaining))
            try:
                return self.sock.recv(size)
            except TimeoutError:
                pass
            finally:
                self.sock.settimeout(prior)
        self.timed_out = True
        return b""

    def gettimeout(self) -> float | None:
        return self.sock.gettimeout()

    def settimeout(self, value: float | None) -> None:
        self.sock.settimeout(value)


class Conn(TConn):
    """A connection with the request being read in the loop, or handed to a thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incoming: Incoming | None = None  # being read by the loop
        self.deadline = 0.0
        self.started = 0.0
        self.ready: Incoming | None = None  # read whole, on its way to a thread
        self.continued = False  # the loop sent 100 Continue for the request in hand
        self.whole = False  # the request in hand came whole from the loop (its body is in memory)
        self.closing = False
        self.on_close: Any = None  # the worker's non-blocking close

    def close(self, graceful: bool = False) -> None:
        if graceful and self.on_close is not None:
            self.on_close(self)
        else:
            super().close(graceful)


def _bound_sends(sock: socket.socket) -> None:
    with contextlib.suppress(OSError, struct.error):  # elsewhere than Linux sends may stay unbounded, as in gthread
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT, 0))


class BufferedThreadWorker(ThreadWorker):
    """``gthread`` whose event loop reads each request whole before a thread serves it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watched: dict[Conn, None] = {}  # connections the loop reads (a request) or drains (closing)
        self.light_pool: futures.ThreadPoolExecutor | None = None
        self.buffering = True

    def init_process(self) -> None:
        self.buffering = not (self.cfg.is_ssl or "h2" in self.cfg.http_protocols)
        self.light_pool = futures.ThreadPoolExecutor(max_workers=LIGHT_THREADS, thread_name_prefix="light")
        super().init_process()

    def run(self) -> None:
        try:
            super().run()
        finally:
            if self.light_pool is not None:
                self.light_pool.shutdown(wait=False)

    def handle_quit(self, sig: int, frame: Any) -> None:
        if self.light_pool is not None:
            self.light_pool.shutdown(wait=False)
        super().handle_quit(sig, frame)

    # --- the loop: accept, read, hand over ----------------------------------------------------------
    def accept(self, listener: socket.socket) -> None:
        if not self.buffering:
            super().accept(listener)
            return
        try:
            sock, addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        _bound_sends(sock)
        conn = Conn(self.cfg, sock, addr, listener.getsockname())
        conn.on_close = self._close_later
        self._read(conn, Incoming())

    def enqueue_req(self, conn: TConn) -> None:
        if not (self.buffering and isinstance(conn, Conn)):
            super().enqueue_req(conn)
            return
        ready, conn.ready = conn.ready, None
        if ready is None:  # a kept-alive connection became readable, or holds a pipelined request
            unreader = getattr(conn.parser, "unreader", None)
            held = unreader.take_buffered() if unreader is not None else b""
            self._read(conn, Incoming(held))
            return
        pool = self.light_pool if ready.light and self.light_pool is not None else self.tpool
        fs = pool.submit(self._serve, conn, ready, time.monotonic())
        fs.add_done_callback(lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def _read(self, conn: Conn, incoming: Incoming) -> None:
        now = time.monotonic()
        conn.incoming, conn.started, conn.deadline, conn.continued = incoming, now, now + HEADER_TIMEOUT, False
        if incoming.state != MORE:
            self._hand_over(conn)
            return
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        self.watched[conn] = None

    def _on_readable(self, conn: Conn, _sock: Any) -> None:
        try:
            data = conn.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if conn.closing or conn.incoming is None:
            if not data:
                self._forget(conn)
            return  # a closing connection: drained and dropped
        if not data:  # the client went away
            self.nr_conns -= 1
            self._forget(conn)
            return
        incoming = conn.incoming
        if incoming.feed(data) != MORE:
            self._hand_over(conn)
            return
        if incoming.head_end is not None:  # in the body: each pause is bounded, and the whole request
            conn.deadline = min(time.monotonic() + BODY_TIMEOUT, conn.started + REQUEST_TIMEOUT)
            if incoming.expects_continue and not conn.continued:
                conn.continued = True
                self._send(conn, CONTINUE)

    def _hand_over(self, conn: Conn) -> None:
        if self.watched.pop(conn, 0) is None:
            self.poller.unregister(conn.sock)
        conn.ready, conn.incoming = conn.incoming, None
        conn.data_ready = True
        self.enqueue_req(conn)

    def _serve(self, conn: Conn, incoming: Incoming, queued_at: float) -> bool:
        """In a thread: the request read by the loop, through gunicorn's parser and the app."""
        _waited.seconds = time.monotonic() - queued_at
        try:
            return self._serve_here(conn, incoming)
        finally:
            _waited.seconds = 0.0

    def _serve_here(self, conn: Conn, incoming: Incoming) -> bool:
        conn.sock.setblocking(True)
        conn.whole = incoming.state == COMPLETE
        conn.init()  # the parser, on a new connection
        unreader: Any = getattr(conn.parser, "unreader", None)
        if unreader is not None:
            unreader.unread(bytes(incoming.buf))
            deadline, source = conn.started + REQUEST_TIMEOUT, getattr(unreader, "sock", None)
            if isinstance(source, PatientSocket):
                source.deadline, source.timed_out = deadline, False
            elif isinstance(source, socket.socket):
                unreader.sock = PatientSocket(source, deadline)
        return self.handle(conn)

    def handle_request(self, req: Any, conn: TConn) -> bool:
        if isinstance(conn, Conn) and conn.continued:
            req._expected_100_continue = False  # the loop has sent it
        return super().handle_request(req, conn)

    def _keepalive_after(self, conn: TConn, keepalive: bool) -> bool:
        """Whether the connection stays open. gthread drains at most 64 KB of a body the app did not
        read (a refusal before the upload was looked at) and otherwise closes the connection it has
        just announced as kept alive, which the client sees as a dropped connection on its next
        request; a body that came whole from the loop is in memory, so all of it is skipped."""
        if keepalive and isinstance(conn, Conn) and conn.whole and conn.parser is not None:
            kept = conn.parser.finish_body()  # type: ignore[union-attr]
        else:
            kept = super()._keepalive_after(conn, keepalive)  # type: ignore[misc]
        sock = getattr(getattr(conn.parser, "unreader", None), "sock", None)
        return bool(kept) and not (isinstance(sock, PatientSocket) and sock.timed_out)

    # --- deadlines and closing ------------------------------------------------------------------------
    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.watched if c.deadline <= now]:
            if conn.closing:
                self._forget(conn)
                continue
            incoming = conn.incoming
            self.nr_conns -= 1
            if incoming is not None and incoming.buf:
                self.log.debug("request from %s too slow: 408", conn.client)
                self._send(conn, LATE)
                self._close_later(conn)
            else:  # connected and said nothing
                self._forget(conn)

    def _send(self, conn: Conn, data: bytes) -> None:
        with contextlib.suppress(OSError):
            conn.sock.send(data)  # a few hundred bytes: the socket buffer takes them at once

    def _close_later(self, conn: Conn) -> None:
        """Half-close now, drain what the client still sends for up to ``LINGER`` seconds, then close,
        without waiting in the loop (a close while request bytes are unread would reset the
        connection and could lose the answer just sent). The connection is already off nr_conns."""
        conn.closing, conn.incoming = True, None
        conn.deadline = time.monotonic() + LINGER
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._forget(conn)
            return
        if conn not in self.watched:
            try:
                self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
            except (KeyError, ValueError, OSError):
                TConn.close(conn)
                return
            self.watched[conn] = None

    def _forget(self, conn: Conn) -> None:
        if self.watched.pop(conn, 0) is None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)
        TConn.close(conn)
