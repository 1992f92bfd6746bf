"""The Redis connection of the shared store: one client (connection pool) per URL and process, short
timeouts, and every Redis failure that means "not reachable just now" turned into
:class:`checker.errors.StorageUnavailable` (503 with Retry-After), never a hang or a 500.

Timeouts: connecting 1 s, a command 5 s, one quick retry. A stopped Redis refuses the connection at
once; an unreachable one costs at most about 2 s a request. A restarted Redis that is still loading its
append-only file answers LOADING: unavailable too, until it has loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from ..errors import StorageUnavailable

DEFAULT_PREFIX = "idphoto"
CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 5.0

_clients: dict[str, Any] = {}
_lock = threading.Lock()

T = TypeVar("T")


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def client(url: str) -> Any:
    """The process's client for ``url`` (redis-py keeps one pool per client and re-opens it after a
    fork, so gunicorn and Celery children each get their own connections)."""
    with _lock:
        found = _clients.get(url)
        if found is None:
            import redis
            from redis.backoff import ExponentialBackoff
            from redis.retry import Retry

            found = redis.Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=COMMAND_TIMEOUT,
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 1), health_check_interval=15,
                decode_responses=False)
            _clients[url] = found
        return found


def unavailable(exc: BaseException) -> StorageUnavailable | None:
    """The StorageUnavailable a Redis error stands for, or None (a bug: a bad command or script)."""
    from redis import exceptions as rx

    if isinstance(exc, rx.ConnectionError | rx.TimeoutError):  # refused, reset, timed out, LOADING
        return StorageUnavailable(f"the shared store cannot be reached ({type(exc).__name__}: {exc})")
    if isinstance(exc, rx.InvalidResponse):  # something else listens there: a wrong CHECKER_STORE_URL
        return StorageUnavailable(f"the shared store's address does not answer as Redis ({exc})")
    if isinstance(exc, rx.ReadOnlyError):  # a replica after a failover, before clients follow
        return StorageUnavailable(f"the shared store is read-only just now ({exc})")
    if isinstance(exc, rx.ResponseError):
        text = str(exc)
        if isinstance(exc, rx.OutOfMemoryError) or text.startswith("OOM"):  # maxmemory, noeviction
            return StorageUnavailable(f"the shared store is out of memory ({exc})", status="STORAGE_FULL",
                                      retry_after=30)
        if text.startswith(("MISCONF", "LOADING", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN",
                            "BUSY")):
            return StorageUnavailable(f"the shared store cannot write just now ({exc})")
    return None


@contextmanager
def guarded() -> Iterator[None]:
    """Run Redis commands; a connection failure comes out as StorageUnavailable."""
    from redis import exceptions as rx

    try:
        yield
    except rx.RedisError as exc:
        fault = unavailable(exc)
        if fault is None:
            raise
        raise fault from exc


def guard(fn: Callable[..., T]) -> Callable[..., T]:
    """:func:`guarded` as a method decorator."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with guarded():
            return fn(*args, **kwargs)

    return wrapper


def text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def decode_row(raw: dict[bytes, bytes], types: dict[str, type]) -> dict[str, Any]:
    """A hash as the SQLite backend's row: every column present (None when not set), typed."""
    got = {k.decode(): v for k, v in raw.items()}
    row: dict[str, Any] = {}
    for name, kind in types.items():
        value = got.get(name)
        if value is None:
            row[name] = None
        elif kind is int:
            row[name] = int(float(value))
        elif kind is float:
            row[name] = float(value)
        else:
            row[name] = value.decode()
    return row


def encode(value: Any) -> str:
    """A value as written into a hash (floats keep every digit: repr)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def split_fields(fields: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Fields to set (flat name, value list for a script's ARGV) and names to delete (None values)."""
    sets: list[str] = []
    dels: list[str] = []
    for name, value in fields.items():
        if value is None:
            dels.append(name)
        else:
            sets += [name, encode(value)]
    return sets, dels
