"""API keys, credits and rate windows on the shared Redis store: the rules of checker/keys.py, kept
where every API server sees them, so a key's credits and its rate are one budget across servers.

Names (P is the prefix, ``idphoto:`` by default):

    P:key:<id>         hash: name, secret_hash, created_at, expires_at, revoked_at, rate_per_second,
                       credits, scopes, used, requests (a field not set is None)
    P:keys             sorted set of key ids by creation time (``idphoto keys list``)
    P:keys:active      set of the ids not revoked (open mode is "no active key")
    P:rate:<id>:<sec>  requests of one key in one second, gone after 10 s

Spending, refunds, rate windows and revocation are Lua scripts: each runs alone on the Redis server,
so two servers spending the last credits at once cannot both get them.

While Redis cannot be reached: a key this process has read in the last ``CACHE_SECONDS`` is still
recognised (from the copy read then) and its requests are counted in this process's memory, so the
free check keeps working; anything that spends or writes answers 503 STORAGE_UNAVAILABLE with
Retry-After (checker.errors.StorageUnavailable).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..errors import CheckerError, StorageUnavailable
from ..keys import Key, MemoryWindows, _key, check_secret, new_key_row, over_rate, rate_limit
from .shared import client, decode_row, encode, guarded, redacted

log = logging.getLogger(__name__)

CACHE_SECONDS = 600.0  # how old a key read before an outage may be and still let the free check through

_TYPES: dict[str, type] = {"id": str, "name": str, "secret_hash": str, "created_at": float, "expires_at": float,
                           "revoked_at": float, "rate_per_second": float, "credits": int, "scopes": str,
                           "used": int, "requests": int}

# KEYS[1] key, KEYS[2] the second's window; ARGV[1] the limit (0: none). 0 when counted, else the
# count that was over the limit (that request is not counted).
_HIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local limit = tonumber(ARGV[1])
if limit > 0 then
  local count = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 10)
  if count > limit then
    redis.call('DECR', KEYS[2])
    return count
  end
end
redis.call('HINCRBY', KEYS[1], 'requests', 1)
return 0
"""

# KEYS[1] key; ARGV[1] cost. {1, left} spent; {0, left} too few; {2, 0} unlimited.
_SPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local credits = redis.call('HGET', KEYS[1], 'credits')
if not credits then return {2, 0} end
local left = tonumber(credits) - tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local cost = tonumber(ARGV[1])
if left < cost then return {0, left} end
redis.call('HINCRBY', KEYS[1], 'used', cost)
return {1, left - cost}
"""

# KEYS[1] key; ARGV[1] credits to give back (never below nothing used).
_REFUND = """
if not redis.call('HGET', KEYS[1], 'credits') then return 0 end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0') - tonumber(ARGV[1])
if used < 0 then used = 0 end
redis.call('HSET', KEYS[1], 'used', used)
return 1
"""

# KEYS[1] key, KEYS[2] active set; ARGV[1] now, ARGV[2] id.
_REVOKE = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"""

# KEYS[1] key, KEYS[2] keys, KEYS[3] active set; ARGV id, created_at, revoked ('1'/'0'), then field/value pairs.
_IMPORT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[3] == '0' then redis.call('SADD', KEYS[3], ARGV[1]) end
return 1
"""

# KEYS[1] key; ARGV[1] credits to add (an unlimited key gets a balance).
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'credits', tonumber(redis.call('HGET', KEYS[1], 'credits') or '0') + tonumber(ARGV[1]))
return 1
"""


class RedisKeyStore:
    def __init__(self, url: str, prefix: str = "idphoto") -> None:
        self.url = url
        self.prefix = prefix.rstrip(":") + ":"
        self.where = f"{redacted(url)} (prefix {self.prefix})"
        self._redis = client(url)
        self._hit = self._redis.register_script(_HIT)
        self._spend = self._redis.register_script(_SPEND)
        self._refund = self._redis.register_script(_REFUND)
        self._revoke = self._redis.register_script(_REVOKE)
        self._add = self._redis.register_script(_ADD)
        self._import = self._redis.register_script(_IMPORT)
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[dict[str, Any], float]] = {}  # key id -> (row, when read), for outages
        self._count: tuple[int, float] | None = None  # the last active count read, and when
        self._memory = MemoryWindows()
        self._degraded = False

    def _k(self, key_id: str) -> str:
        return f"{self.prefix}key:{key_id}"

    # --- administration -------------------------------------------------------------------------
    def create(self, name: str = "", *, credits: int | None = None, rate_per_second: float | None = None,
               expires_in_days: float | None = None, scopes: tuple[str, ...] | list[str] = ("*",)) -> str:
        key_id, secret, row = new_key_row(name, credits=credits, rate_per_second=rate_per_second,
                                          expires_in_days=expires_in_days, scopes=scopes)
        mapping = {k: encode(v) for k, v in row.items() if v is not None}
        with guarded():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self._k(key_id), mapping=mapping)
            pipe.zadd(f"{self.prefix}keys", {key_id: row["created_at"]})
            pipe.sadd(f"{self.prefix}keys:active", key_id)
            pipe.execute()
        return f"{key_id}.{secret}"

    def list(self) -> list[Key]:
        with guarded():
            ids = [i.decode() for i in self._redis.zrange(f"{self.prefix}keys", 0, -1)]
            pipe = self._redis.pipeline(transaction=False)
            for key_id in ids:
                pipe.hgetall(self._k(key_id))
            rows = pipe.execute()
        return [_key(decode_row(raw, _TYPES)) for raw in rows if raw]

    def revoke(self, key_id: str) -> bool:
        with guarded():
            done = bool(self._revoke(keys=[self._k(key_id), f"{self.prefix}keys:active"],
                                     args=[encode(time.time()), key_id]))
        with self._lock:
            self._seen.pop(key_id, None)
        return done

    def add_credits(self, key_id: str, credits: int) -> None:
        with guarded():
            self._add(keys=[self._k(key_id)], args=[int(credits)])

    def import_row(self, row: dict[str, Any]) -> bool:
        """Add a key as another store keeps it (hashed secret, balance, expiry, revocation); False when
        a key with its id is here already (it is left as it is)."""
        pairs = [v for name in _TYPES if name != "id" and row.get(name) is not None
                 for v in (name, encode(row[name]))]
        with guarded():
            return bool(self._import(keys=[self._k(row["id"]), f"{self.prefix}keys", f"{self.prefix}keys:active"],
                                     args=[row["id"], encode(float(row["created_at"])),
                                           "1" if row.get("revoked_at") else "0", *pairs]))

    def active_count(self) -> int:
        try:
            with guarded():
                count = int(self._redis.scard(f"{self.prefix}keys:active"))
        except StorageUnavailable:
            with self._lock:
                if self._count is not None and time.monotonic() - self._count[1] < CACHE_SECONDS:
                    self._note_outage()
                    return self._count[0]
            raise
        with self._lock:
            self._count = (count, time.monotonic())
        return count

    def _row(self, key_id: str) -> dict[str, Any] | None:
        with guarded():
            raw = self._redis.hgetall(self._k(key_id))
        if not raw:
            return None
        row = decode_row(raw, _TYPES)
        row["id"] = key_id
        return row

    def get(self, key_id: str) -> Key | None:
        row = self._row(key_id)
        return _key(row) if row else None

    # --- requests -------------------------------------------------------------------------------
    def authenticate(self, key_id: str, secret: str) -> Key:
        try:
            row = self._row(key_id)
        except StorageUnavailable:
            with self._lock:
                seen = self._seen.get(key_id)
            if seen is None or time.monotonic() - seen[1] >= CACHE_SECONDS:
                raise
            self._note_outage()
            return check_secret(seen[0], secret)
        with self._lock:
            if row is None:
                self._seen.pop(key_id, None)
            else:
                self._seen[key_id] = (row, time.monotonic())
                if len(self._seen) > 10000:  # a bound, not an LRU: the oldest reads go first
                    for old in sorted(self._seen, key=lambda k: self._seen[k][1])[:1000]:
                        del self._seen[old]
        return check_secret(row, secret)

    def hit(self, key: Key) -> None:
        """Count one request against the key's rate (one window for every server); while Redis is
        away, in this process's memory (the limit then holds per process)."""
        now = time.time()
        window = int(now)
        try:
            with guarded():
                count = int(self._hit(keys=[self._k(key.id), f"{self.prefix}rate:{key.id}:{window}"],
                                      args=[rate_limit(key)]))
            self._degraded = False
        except StorageUnavailable as exc:
            if not self._degraded:
                log.warning("%s cannot be reached (%s): request counts and rate windows are kept in memory "
                            "until it can", self.where, exc)
                self._degraded = True
            if key.rate_per_second:
                over_rate(key, self._memory.count(key.id, window), now)
            return
        if count and key.rate_per_second:
            over_rate(key, count, now)

    def spend(self, key: Key, cost: int) -> int | None:
        if cost <= 0 or key.credits is None:
            current = self.get(key.id) if key.credits is not None else None
            return current.remaining if current is not None else None
        with guarded():
            done, left = (int(v) for v in self._spend(keys=[self._k(key.id)], args=[int(cost)]))
        if done == 0:
            raise CheckerError("OUT_OF_QUOTA", f"this request costs {cost} credits; {left} are left", http=403)
        return None if done == 2 else left

    def refund(self, key_id: str, cost: int) -> None:
        if cost > 0:
            with guarded():
                self._refund(keys=[self._k(key_id)], args=[int(cost)])

    def _note_outage(self) -> None:
        if not self._degraded:
            log.warning("%s cannot be reached: keys are checked against the copies read before", self.where)
            self._degraded = True
