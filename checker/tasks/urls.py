"""Outbound HTTP for tasks and the eye-masking API (image_url and selfie_url downloads, callbacks) under
one address policy.

- The URL: http or https, a host, a port in 1-65535 written in ASCII digits, no spaces or control
  characters, at most 512 characters; anything else is ``URLInvalid`` (a 400 naming the field), whatever
  the policy.
- The address: unless the policy allows private addresses (CHECKER_ALLOW_PRIVATE_URLS), every address a
  host resolves to must be global: not private, loopback, link-local, multicast or otherwise reserved,
  also when an IPv4 address is written inside an IPv6 one (IPv4-mapped ``::ffff:a.b.c.d``,
  IPv4-compatible ``::a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
  ``2002::/16``, Teredo); the local-use NAT64 prefix ``64:ff9b:1::/48`` is never global. The test runs
  when the URL is submitted (a clear 400) and again on the very address each connection is made to, so
  a name that answers differently the second time (DNS rebinding) and a redirect are held to it too.
- Time: ``Policy.timeout`` is the whole exchange (connection, TLS, headers, body, every redirect), not
  each read: each read waits at most the time left, the deadline is checked between reads, and a watchdog
  shuts the connection at the deadline whatever phase it is in. A source that trickles a byte now and
  then is cut at the deadline (``FetchTimedOut``).
- Size: the body stops at ``Policy.max_bytes`` (``TooLarge``).
- Environment proxies are not used: the policy is about the address actually connected to.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO, Any

MAX_URL_LENGTH = 512  # seed 002: image_url at most 512 characters
_CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class URLRefused(ValueError):
    """The address policy refuses this URL (a clear 400 at submission)."""


class URLInvalid(URLRefused):
    """The URL itself is malformed (bad port, no host, spaces...): refused whatever the policy."""


class FetchFailed(Exception):
    """The download failed: unreachable, timed out, HTTP error (task state -3)."""


class FetchTimedOut(FetchFailed):
    """The exchange did not end within the policy's total timeout."""


class TooLarge(Exception):
    """The body is larger than the cap (task state -5)."""


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False
    timeout: float = 10.0  # seconds for the whole exchange (PicWish's "download timeout 10s")
    max_bytes: int = 15 * 1024 * 1024


# --- the URL ------------------------------------------------------------------------------------------------
def _port_text(netloc: str) -> str | None:
    """The port as written in ``netloc`` (None when there is none)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        after = hostport.partition("]")[2]
        return after[1:] if after.startswith(":") else None
    host, colon, port = hostport.rpartition(":")
    return port if colon else None


def parse_url(url: object) -> urllib.parse.SplitResult:
    """The URL's parts, or URLInvalid / URLRefused (scheme) saying what is wrong with it."""
    if not isinstance(url, str) or not url.strip():
        raise URLInvalid("the URL is empty")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise URLInvalid(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise URLInvalid("the URL contains spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise URLInvalid(f"the URL cannot be read: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise URLRefused("only http and https URLs are accepted")
    port = _port_text(parts.netloc)
    if port and (not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535):
        raise URLInvalid(f"the port {port!r} is not a port number (1 to 65535)")
    try:
        hostname = parts.hostname
    except ValueError as exc:
        raise URLInvalid(f"the URL's host cannot be read: {exc}") from exc
    if not hostname:
        raise URLInvalid("the URL has no host")
    return parts


def _default_port(parts: urllib.parse.SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


# --- the address --------------------------------------------------------------------------------------------
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits are IPv4
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefix: never global


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, in the forms a host may route as IPv4."""
    if addr.ipv4_mapped is not None:  # ::ffff:a.b.c.d
        return addr.ipv4_mapped
    if addr.sixtofour is not None:  # 2002:AABB:CCDD::/48
        return addr.sixtofour
    if addr.teredo is not None:  # 2001:0::/32, the client's address
        return addr.teredo[1]
    n = int(addr)
    if addr in _NAT64 or n >> 32 == 0xFFFF0000 or (n >> 32 == 0 and n > 1):
        # NAT64, IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d)
        return ipaddress.IPv4Address(n & 0xFFFFFFFF)
    return None


def refusal(addr: IPAddress) -> str | None:
    """Why the policy refuses to connect to ``addr`` (None: it is a global unicast address)."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr in _NAT64_LOCAL:
            return "a private (local-use NAT64) address"
        inner = _embedded_ipv4(addr)
        if inner is not None and refusal(inner):
            return f"a private or reserved address (IPv4 {inner})"
    if not addr.is_global or addr.is_multicast:
        return "a private or reserved address"
    return None


def _address(sockaddr: tuple[Any, ...]) -> IPAddress:
    return ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])


def _resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise URLRefused(f"the host {host!r} cannot be resolved") from exc


def _refuse_private(host: str, infos: list[tuple[Any, ...]]) -> None:
    for info in infos:
        addr = _address(info[4])
        why = refusal(addr)
        if why:
            raise URLRefused(f"{host} resolves to {addr}, {why}")


def check_url(url: str, policy: Policy) -> None:
    """Raise URLInvalid / URLRefused unless ``url`` is a well-formed http(s) URL to a host the policy
    allows (every address it resolves to)."""
    parts = parse_url(url)
    if policy.allow_private:
        return
    host = parts.hostname or ""
    _refuse_private(host, _resolve(host, _default_port(parts)))


# --- the deadline -------------------------------------------------------------------------------------------
class _Deadline:
    """One exchange's total time: ``left()`` for each wait, and a watchdog that shuts every socket of
    the exchange when the time is up (a read in progress then ends at once)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def error(self) -> FetchTimedOut:
        return FetchTimedOut(f"no complete answer within {self.seconds:g} s")

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0 or self.expired:
            raise self.error()
        return left

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                raise self.error()
            self._socks.append(sock)

    def before_read(self) -> None:
        """Between reads: past the deadline, stop; else the next read waits at most the time left."""
        left = self.left()
        with self._lock:
            for sock in self._socks:
                with contextlib.suppress(OSError):  # closed already (a redirect's first connection)
                    sock.settimeout(left)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._socks:
                with contextlib.suppress(OSError):  # closed already
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the TCP socket, under any TLS

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._socks.clear()


class _Exchange:
    """One download or callback: its policy and its deadline, shared by every connection it opens
    (redirects included)."""

    def __init__(self, policy: Policy, deadline: _Deadline) -> None:
        self.policy, self.deadline = policy, deadline

    def connect(self, address: tuple[str, int], timeout: object = None, source_address: object = None
                ) -> socket.socket:
        """socket.create_connection for http.client: resolve, check each address against the policy
        (the address connected to is an address checked), connect within the time left, and put the
        socket under the watchdog."""
        host, port = address
        infos = _resolve(host, port)
        if not self.policy.allow_private:
            _refuse_private(host, infos)
        last: OSError | None = None
        for family, kind, proto, _, sockaddr in infos:
            sock = socket.socket(family, kind, proto)
            try:
                self.deadline.watch(sock)
                sock.settimeout(self.deadline.left())
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                last = exc
            except FetchTimedOut:
                sock.close()
                raise
        raise last or OSError(f"no address for {host}")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, exchange: _Exchange, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = exchange.connect


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, *, exchange: _Exchange, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._exchange = exchange
        self._create_connection = exchange.connect

    def connect(self) -> None:
        super().connect()  # TCP (watched), then the TLS handshake (within the socket's timeout)
        self._exchange.deadline.watch(self.sock)  # the TLS socket took over the TCP one's descriptor


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, exchange: _Exchange) -> None:
        super().__init__()
        self.exchange = exchange

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        def make(host: str, **kw: Any) -> http.client.HTTPConnection:
            return _HTTPConnection(host, exchange=self.exchange, **kw)

        return self.do_open(make, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, exchange: _Exchange) -> None:
        super().__init__()
        self.exchange = exchange
        self.tls = ssl.create_default_context()  # certificates and host names verified

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        def make(host: str, **kw: Any) -> http.client.HTTPSConnection:
            return _HTTPSConnection(host, exchange=self.exchange, context=self.tls, **kw)

        return self.do_open(make, req)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage,
                         newurl: str) -> urllib.request.Request | None:
        try:
            check_url(newurl, self.policy)
        except URLRefused as exc:
            raise FetchFailed(f"redirect refused: {exc}") from exc
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(policy: Policy, deadline: _Deadline) -> urllib.request.OpenerDirector:
    exchange = _Exchange(policy, deadline)
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _HTTPHandler(exchange),
                                       _HTTPSHandler(exchange), _CheckedRedirects(policy))


def _read(resp: Any, deadline: _Deadline, cap: int, *, whole: bool = True) -> bytes:
    """The body, one read at a time within the deadline. ``whole``: all of it (TooLarge past ``cap``
    bytes, FetchFailed when it ends before its Content-Length); else at most ``cap`` bytes of it."""
    chunks: list[bytes] = []
    total = 0
    while True:
        deadline.before_read()
        chunk = resp.read1(_CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > cap:
            if whole:
                raise TooLarge(f"the image is larger than {cap} bytes")
            break
        chunks.append(chunk)
    if deadline.expired:  # the watchdog shut the connection: what came is not the whole body
        raise deadline.error()
    if whole and resp.length:  # read1 does not raise when the body stops short of its Content-Length
        raise FetchFailed(f"the body ended after {total} bytes, {resp.length} short of its Content-Length")
    return b"".join(chunks)


_TRANSPORT_ERRORS = (urllib.error.URLError, OSError, ValueError, http.client.HTTPException)


def _failure(exc: BaseException, deadline: _Deadline, what: str) -> FetchFailed | URLRefused:
    """The error to raise for a transport failure: the deadline's when it had passed."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, URLRefused):
        return reason
    if deadline.expired or isinstance(reason, (TimeoutError, FetchTimedOut)) or time.monotonic() >= deadline.end:
        return reason if isinstance(reason, FetchTimedOut) else deadline.error()
    return FetchFailed(f"{what}: {reason}")


def download(url: str, policy: Policy) -> bytes:
    """GET ``url`` within the policy. FetchFailed (FetchTimedOut) / TooLarge / URLRefused (URLInvalid)."""
    check_url(url, policy)
    deadline = _Deadline(policy.timeout)
    req = urllib.request.Request(url.strip(), headers={"User-Agent": "idphoto-tasks/1"})
    try:
        with _opener(policy, deadline).open(req, timeout=deadline.left()) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > policy.max_bytes:
                raise TooLarge(f"the image is {int(length)} bytes; at most {policy.max_bytes} are accepted")
            return _read(resp, deadline, policy.max_bytes)
    except (TooLarge, FetchFailed, URLRefused):
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        raise FetchFailed(f"the server answered HTTP {exc.code}") from exc
    except _TRANSPORT_ERRORS as exc:
        raise _failure(exc, deadline, "the image could not be downloaded") from exc
    finally:
        deadline.close()


def post_json(url: str, body: bytes, policy: Policy) -> int:
    """POST a JSON body within the policy's total timeout; the HTTP status (FetchFailed when there is
    none: unreachable, timed out)."""
    check_url(url, policy)
    deadline = _Deadline(policy.timeout)
    req = urllib.request.Request(url.strip(), data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "idphoto-tasks/1"})
    what = f"callback to {urllib.parse.urlsplit(url.strip()).netloc} failed"
    try:
        with _opener(policy, deadline).open(req, timeout=deadline.left()) as resp:
            _read(resp, deadline, 64 * 1024, whole=False)  # the status is what counts
            return int(resp.status)
    except (FetchFailed, URLRefused):
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except _TRANSPORT_ERRORS as exc:
        raise _failure(exc, deadline, what) from exc
    finally:
        deadline.close()
