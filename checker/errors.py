"""The one error type the library raises for bad input; each web family maps it to its envelope."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

# Stable machine status -> HTTP code. Web blueprints translate these into their seed's envelope.
HTTP_CODES: dict[str, int] = {
    "EMPTY_IMAGE": 400,
    "CORRUPT_IMAGE": 400,
    "INVALID_IMAGE_FORMAT_OR_SIZE": 400,
    "IMAGE_FILE_SIZE_TOO_BIG": 400,
    "INVALID_ARGUMENT": 400,
    "UNKNOWN_SPEC": 400,
    "NO_FACE_DETECTED": 400,
    "TOO_MANY_FACES": 400,
    "NO_PERSON_DETECTED": 400,
    "ENCODING_ERROR": 400,
    "DOWNLOAD_TIMEOUT": 400,
    "DOWNLOAD_ERROR": 400,
    "IMAGE_ID_NOT_EXIST": 400,
    "MODEL_UNAVAILABLE": 400,
    "CANNOT_FRAME": 400,
    "FILE_SIZE_UNREACHABLE": 400,
    "PHOTO_TOO_BIG_FOR_PAPER": 400,
    "UNAUTHORIZED": 401,
    "KEY_EXPIRED": 401,
    "NO_PERMISSION": 403,
    "OUT_OF_QUOTA": 403,
    "RATE_LIMIT_EXCEEDED": 429,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "PAYLOAD_TOO_LARGE": 413,
    "INTERNAL_ERROR": 500,
    "REMOTE_DETECTOR_ERROR": 502,
    "STORAGE_UNAVAILABLE": 503,
    "STORAGE_FULL": 507,
}


class CheckerError(Exception):
    """A failure with a stable status (``NO_FACE_DETECTED``) and a human message."""

    def __init__(self, status: str, message: str, *, http: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http = http if http is not None else HTTP_CODES.get(status, 400)
        self.retry_after: int | None = None  # seconds, sent as Retry-After (rate limits)

    def __repr__(self) -> str:
        return f"CheckerError({self.status!r}, {self.message!r})"


# --- storage faults -------------------------------------------------------------------------------
STORAGE_RETRY_AFTER = 30  # seconds a client is told to wait when the state folder cannot be written


class StorageUnavailable(Exception):
    """A shared store (Redis, checker/store/) that cannot be reached or cannot write just now:
    STORAGE_UNAVAILABLE (503), or STORAGE_FULL (507) when it is out of memory. It comes back by
    itself (a restarted Redis), so clients are told to retry soon."""

    def __init__(self, message: str, *, status: str = "STORAGE_UNAVAILABLE", retry_after: int = 5) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_READ_ONLY_ERRNOS = frozenset({errno.EROFS})
_DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EIO})  # storage only when on our own files
_SQLITE_FULL = ("SQLITE_FULL",)
_SQLITE_UNAVAILABLE = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_BUSY",
                       "SQLITE_LOCKED")
# Python-raised sqlite3 errors carry no code; the library's messages for the same faults.
_SQLITE_FULL_TEXT = ("database or disk is full",)
_SQLITE_UNAVAILABLE_TEXT = ("readonly database", "disk i/o error", "unable to open database file",
                            "database is locked", "access permission denied")


def sqlite_fault(exc: BaseException) -> str | None:
    """``STORAGE_FULL`` / ``STORAGE_UNAVAILABLE`` when a SQLite error says the file cannot be
    written (full, read-only, I/O error, cannot open, locked too long), else None (a bug: bad SQL,
    a constraint)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    name = getattr(exc, "sqlite_errorname", None) or ""
    text = str(exc).lower()
    if name.startswith(_SQLITE_FULL) or any(t in text for t in _SQLITE_FULL_TEXT):
        return "STORAGE_FULL"
    if name.startswith(_SQLITE_UNAVAILABLE) or any(t in text for t in _SQLITE_UNAVAILABLE_TEXT):
        return "STORAGE_UNAVAILABLE"
    return None


def _within(filename: object, roots: Iterable[str | os.PathLike[str]]) -> bool:
    if not isinstance(filename, str | os.PathLike):
        return False
    path = Path(os.path.abspath(filename))
    for root in roots:
        base = Path(os.path.abspath(root))
        if path == base or base in path.parents:
            return True
    return False


def storage_error(exc: BaseException, roots: Iterable[str | os.PathLike[str]] = ()) -> CheckerError | None:
    """The stable answer to a failed write of the service's state, or None for any other failure.

    A full disk or quota (ENOSPC, EDQUOT; SQLite's "database or disk is full") is STORAGE_FULL (507);
    a read-only file system, SQLite's read-only, I/O and cannot-open errors, and permission or I/O
    errors on a file under one of ``roots`` (the state folders) are STORAGE_UNAVAILABLE (503). Both
    carry a Retry-After: they last until an operator frees space or fixes the folder, and the
    service recovers by itself then."""
    if isinstance(exc, StorageUnavailable):
        err = CheckerError(exc.status, "the server's shared store cannot be reached just now; try again later")
        err.retry_after = exc.retry_after
        return err
    status: str | None = sqlite_fault(exc)
    if status is None and isinstance(exc, OSError):
        code = exc.errno
        if code in _FULL_ERRNOS:
            status = "STORAGE_FULL"
        elif code in _READ_ONLY_ERRNOS or (code in _DENIED_ERRNOS and (
                _within(exc.filename, roots) or _within(exc.filename2, roots))):
            status = "STORAGE_UNAVAILABLE"
    if status is None:
        return None
    message = ("the server's storage is full; try again later" if status == "STORAGE_FULL" else
               "the server's storage cannot be written just now; try again later")
    err = CheckerError(status, message)
    err.retry_after = STORAGE_RETRY_AFTER
    return err
