"""Outbound HTTP for tasks (image_url downloads, callbacks) under one address policy.

http and https only; a host that resolves to a private, loopback, link-local, multicast or
otherwise reserved address is refused unless the configuration allows private addresses
(CHECKER_ALLOW_PRIVATE_URLS). Redirects are followed only to addresses that pass the same test;
every read has a timeout and a size cap.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO

MAX_URL_LENGTH = 512  # seed 002: image_url at most 512 characters


class URLRefused(ValueError):
    """The address policy refuses this URL (a clear 400 at submission)."""


class FetchFailed(Exception):
    """The download failed: unreachable, timed out, HTTP error (task state -3)."""


class FetchTimedOut(FetchFailed):
    """The server did not answer (or finish answering) within the policy's timeout."""


class TooLarge(Exception):
    """The body is larger than the cap (task state -5)."""


@dataclass(frozen=True)
class Policy:
    allow_private: bool = False
    timeout: float = 10.0
    max_bytes: int = 15 * 1024 * 1024


def check_url(url: str, policy: Policy) -> None:
    """Raise URLRefused unless ``url`` is http(s) to a host the policy allows."""
    if not isinstance(url, str) or not url.strip():
        raise URLRefused("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise URLRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise URLRefused("only http and https URLs are accepted")
    if not parts.hostname:
        raise URLRefused("the URL has no host")
    if policy.allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise URLRefused(f"the host {parts.hostname!r} cannot be resolved") from exc
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not addr.is_global or addr.is_multicast:
            raise URLRefused(f"{parts.hostname} resolves to {addr}, a private or reserved address")


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


def _opener(policy: Policy) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_CheckedRedirects(policy))


def download(url: str, policy: Policy) -> bytes:
    """GET ``url`` within the policy. FetchFailed / TooLarge / URLRefused."""
    check_url(url, policy)
    req = urllib.request.Request(url, headers={"User-Agent": "idphoto-tasks/1"})
    try:
        with _opener(policy).open(req, timeout=policy.timeout) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > policy.max_bytes:
                raise TooLarge(f"the image is {int(length)} bytes; at most {policy.max_bytes} are accepted")
            data = resp.read(policy.max_bytes + 1)
    except (TooLarge, FetchFailed):
        raise
    except urllib.error.HTTPError as exc:
        raise FetchFailed(f"the server answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise FetchTimedOut(f"no answer within {policy.timeout:g} s") from exc
        raise FetchFailed(f"the image could not be downloaded: {reason}") from exc
    if len(data) > policy.max_bytes:
        raise TooLarge(f"the image is larger than {policy.max_bytes} bytes")
    return data


def post_json(url: str, body: bytes, policy: Policy) -> int:
    """POST a JSON body; the HTTP status (FetchFailed when there is none)."""
    check_url(url, policy)
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "idphoto-tasks/1"})
    try:
        with _opener(policy).open(req, timeout=policy.timeout) as resp:
            resp.read(64 * 1024)
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchFailed(f"callback to {urllib.parse.urlsplit(url).netloc} failed: "
                          f"{getattr(exc, 'reason', exc)}") from exc
