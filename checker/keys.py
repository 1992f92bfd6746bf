"""API keys, rate limits and credits, kept in SQLite (this module, the embedded default) or on the
shared Redis store (checker/store/redis_keys.py, when CHECKER_STORE_URL is set; the same rules).

A key is ``<id>.<secret>``: the id is public (seed 001 sends it as ``api_id``), the secret is
shown once at creation and stored only as a SHA-256 hash (secrets are 32 random bytes, so a fast
hash is enough). Each key may carry an expiry, a rate limit (requests per second) and a credit
balance (seed 002's prices); both are counted with atomic SQLite updates, so concurrent requests
and several server processes never double-spend.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import math
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CheckerError, sqlite_fault
from .instance import instance_dir
from .sqlite import Database

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    secret_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    revoked_at REAL,
    rate_per_second REAL,
    credits INTEGER,
    scopes TEXT NOT NULL DEFAULT '*',
    used INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rate_windows (
    key_id TEXT NOT NULL,
    window INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key_id, window)
);
"""

# What a key may be allowed to call (``*``: everything). Prices live with the parameters that set
# them (checker.params): each table has a base price and each parameter its effect on it.
SCOPES = ("check", "generate", "tasks", "mask", "matting")


@dataclass(frozen=True)
class Key:
    id: str
    name: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    rate_per_second: float | None
    credits: int | None  # None: unlimited
    scopes: tuple[str, ...]  # ("*",): every API
    used: int
    requests: int

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes

    @property
    def remaining(self) -> int | None:
        return None if self.credits is None else self.credits - self.used


def default_path() -> Path:
    """CHECKER_KEYS_DB, else keys.sqlite3 in the instance folder."""
    value = os.environ.get("CHECKER_KEYS_DB")
    return Path(value) if value else instance_dir() / "keys.sqlite3"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._sql = Database(self.path, _SCHEMA)  # credits: every commit on disk (synchronous FULL)
        # Rate windows counted here while the file cannot be written: (key id, second) -> requests.
        self._memory = MemoryWindows()
        self._degraded = False  # the last hit could not be written (logged once, not per request)

    @property
    def where(self) -> str:
        return str(self.path)

    # --- administration -------------------------------------------------------------------------
    def create(self, name: str = "", *, credits: int | None = None, rate_per_second: float | None = None,
               expires_in_days: float | None = None, scopes: tuple[str, ...] | list[str] = ("*",)) -> str:
        """A new key; the returned ``id.secret`` string is the only time the secret is seen."""
        key_id, secret, row = new_key_row(name, credits=credits, rate_per_second=rate_per_second,
                                          expires_in_days=expires_in_days, scopes=scopes)
        with self._sql.transaction() as db:
            db.execute("INSERT INTO api_keys (id, name, secret_hash, created_at, expires_at, rate_per_second, credits,"
                       " scopes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key_id, name, row["secret_hash"], row["created_at"], row["expires_at"], rate_per_second,
                        credits, row["scopes"]))
        return f"{key_id}.{secret}"

    def list(self) -> list[Key]:
        rows = self._sql.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        with self._sql.transaction() as db:
            cur = db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                             (time.time(), key_id))
            return cur.rowcount == 1

    def add_credits(self, key_id: str, credits: int) -> None:
        with self._sql.transaction() as db:
            db.execute("UPDATE api_keys SET credits = COALESCE(credits, 0) + ? WHERE id = ?", (credits, key_id))

    def active_count(self) -> int:
        return int(self._sql.execute("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[0])

    def rows(self) -> builtins.list[dict[str, Any]]:
        """Every key as stored (the secret's hash included): what `idphoto keys copy-from` copies."""
        return [dict(r) for r in self._sql.execute("SELECT * FROM api_keys ORDER BY created_at").fetchall()]

    def get(self, key_id: str) -> Key | None:
        row = self._sql.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return _key(row) if row else None

    # --- requests -------------------------------------------------------------------------------
    def authenticate(self, key_id: str, secret: str) -> Key:
        """The key for these credentials; UNAUTHORIZED or KEY_EXPIRED (401)."""
        return check_secret(self._sql.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone(), secret)

    def hit(self, key: Key) -> None:
        """Count one request against the key's rate limit (a one-second window, shared by every
        server process); RATE_LIMIT_EXCEEDED with the seconds to wait.

        When the key file cannot be written (disk full, read-only folder) the request is still
        served: it is counted in this process's memory instead, so the limit holds per process
        until the file can be written again. A read-only request (the free check) must not fail
        because a counter could not be kept."""
        now = time.time()
        window = int(now)
        try:
            with self._sql.transaction() as db:
                db.execute("UPDATE api_keys SET requests = requests + 1 WHERE id = ?", (key.id,))
                self._degraded = False
                if key.rate_per_second:
                    db.execute("INSERT INTO rate_windows VALUES (?, ?, 1) ON CONFLICT(key_id, window) DO UPDATE"
                               " SET count = count + 1", (key.id, window))
                    count = db.execute("SELECT count FROM rate_windows WHERE key_id = ? AND window = ?",
                                       (key.id, window)).fetchone()[0]
                    db.execute("DELETE FROM rate_windows WHERE key_id = ? AND window < ?", (key.id, window - 5))
                    over_rate(key, count, now)
        except sqlite3.Error as exc:
            if not sqlite_fault(exc):
                raise
            if not self._degraded:
                log.warning("%s cannot be written (%s): request counts and rate windows are kept in memory "
                            "until it can", self.path, exc)
                self._degraded = True
            if key.rate_per_second:
                over_rate(key, self._memory.count(key.id, window), now)

    def spend(self, key: Key, cost: int) -> int | None:
        """Take ``cost`` credits, all or nothing; OUT_OF_QUOTA (403) when too few are left.
        Returns what remains (None: unlimited)."""
        if cost <= 0 or key.credits is None:
            current = self.get(key.id) if key.credits is not None else None
            return current.remaining if current is not None else None
        with self._sql.transaction() as db:
            cur = db.execute("UPDATE api_keys SET used = used + ? WHERE id = ? AND credits - used >= ?",
                             (cost, key.id, cost))
            if cur.rowcount != 1:
                left = db.execute("SELECT credits - used FROM api_keys WHERE id = ?", (key.id,)).fetchone()[0]
                raise CheckerError("OUT_OF_QUOTA", f"this request costs {cost} credits; {left} are left", http=403)
            return int(db.execute("SELECT credits - used FROM api_keys WHERE id = ?", (key.id,)).fetchone()[0])

    def refund(self, key_id: str, cost: int) -> None:
        """Give back credits for a request that did not produce anything."""
        if cost > 0:
            with self._sql.transaction() as db:
                db.execute("UPDATE api_keys SET used = MAX(0, used - ?) WHERE id = ? AND credits IS NOT NULL",
                           (cost, key_id))


def _key(row: sqlite3.Row | dict) -> Key:
    return Key(id=row["id"], name=row["name"], created_at=row["created_at"], expires_at=row["expires_at"],
               revoked_at=row["revoked_at"], rate_per_second=row["rate_per_second"], credits=row["credits"],
               scopes=tuple(row["scopes"].split(",")), used=row["used"], requests=row["requests"])


# --- shared by both backends ------------------------------------------------------------------------
def new_key_row(name: str = "", *, credits: int | None, rate_per_second: float | None,
                expires_in_days: float | None, scopes: tuple[str, ...] | list[str]) -> tuple[str, str, dict]:
    """A new key's id, secret and stored fields (the secret only hashed), after checking the options."""
    unknown = [s for s in scopes if s != "*" and s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"unknown scope {', '.join(unknown) or '(none)'}; use * or {', '.join(SCOPES)}")
    if credits is not None and credits < 0:
        raise ValueError("credits cannot be negative")
    if rate_per_second is not None and rate_per_second <= 0:
        raise ValueError("the rate must be positive")
    key_id = "k" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = time.time()
    expires = now + expires_in_days * 86400 if expires_in_days is not None else None
    row = {"id": key_id, "name": name, "secret_hash": _hash(secret), "created_at": now, "expires_at": expires,
           "revoked_at": None, "rate_per_second": rate_per_second, "credits": credits, "scopes": ",".join(scopes),
           "used": 0, "requests": 0}
    return key_id, secret, row


def check_secret(row: sqlite3.Row | dict | None, secret: str) -> Key:
    """The key of a stored row for ``secret``; UNAUTHORIZED or KEY_EXPIRED (401)."""
    if row is None or not hmac.compare_digest(row["secret_hash"], _hash(secret)) or row["revoked_at"]:
        raise CheckerError("UNAUTHORIZED", "the API key or secret is wrong", http=401)
    if row["expires_at"] is not None and row["expires_at"] <= time.time():
        raise CheckerError("KEY_EXPIRED", "this API key has expired", http=401)
    return _key(row)


def rate_limit(key: Key) -> int:
    """Requests a key may make in one second (0: no limit); a rate under 1/s still lets one through."""
    return max(1, math.floor(key.rate_per_second)) if key.rate_per_second else 0


def over_rate(key: Key, count: int, now: float) -> None:
    """RATE_LIMIT_EXCEEDED (with the seconds to wait) when ``count`` requests in this second is too many."""
    assert key.rate_per_second
    if count > rate_limit(key):
        err = CheckerError("RATE_LIMIT_EXCEEDED",
                           f"more than {key.rate_per_second:g} requests per second with this key", http=429)
        err.retry_after = max(1, math.ceil(int(now) + 1 - now))
        raise err


class MemoryWindows:
    """Rate windows counted in this process while the store cannot be written: (key id, second) -> requests.
    The limit then holds per process until the store can be written again."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def count(self, key_id: str, window: int) -> int:
        with self._lock:
            for k in [k for k in self._windows if k[1] < window - 5]:
                del self._windows[k]
            count = self._windows.get((key_id, window), 0) + 1
            self._windows[(key_id, window)] = count
            return count


def split_key(text: str) -> tuple[str, str]:
    """``id.secret`` -> (id, secret); UNAUTHORIZED when it has no such shape."""
    key_id, sep, secret = (text or "").strip().partition(".")
    if not sep or not key_id or not secret:
        raise CheckerError("UNAUTHORIZED", "the API key is not valid", http=401)
    return key_id, secret
