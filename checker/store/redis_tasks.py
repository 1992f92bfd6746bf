"""Tasks, callbacks, kept inputs and result images on the shared Redis store: the state machine of
checker/tasks/store.py where every API server and Celery worker reaches it, so a task created on one
server runs on any worker and its image is served by any server.

Names (P is the prefix, ``idphoto:`` by default):

    P:task:<id>          hash: the columns of the SQLite ``tasks`` table (a field not set is None);
                         kept TTL + RETAIN seconds once the task has ended
    P:tasks:queued       sorted set: queued task ids by creation time
    P:tasks:active       sorted set: claimed task ids by lease end (recovery reads the expired ones)
    P:input:<image_id>   hash: data, owner, created_at, expires; gone after TTL
    P:result:<tok>.<ext> the result file's bytes; gone when its task's result_expires passes
    P:cb:<task_id>       hash: the callback row (url, state, attempts, next_at, worker, lease_until, ...)
    P:cbs:first          sorted set: callbacks waiting for their first attempt, by next_at
    P:cbs:retry          sorted set: callbacks waiting for a retry, by next_at
    P:cbs:sending        sorted set: callbacks being posted, by lease end
    P:sent:<task_id>     set when a queued task is (re)sent to Celery: one resend per interval in all

Every change of state is one Lua script (claim, update, finish, recover, claim_callback,
callback_attempted) or one MULTI transaction (create, save_input): atomic on the server, so a task is
claimed by one worker at a time, its end and its callback are written together, and a failed task's
credits go back in that same step (``refunds_with_end``: the key's hash is on the same Redis; the
task's ``refunded`` field makes it once). Times are the writing node's clock (keep nodes on NTP, as
leases compare times written by different nodes). Expiry is Redis's own (PEXPIREAT), so ``sweep``
has nothing to delete.

Durability is Redis's: run it with ``appendonly yes`` (and ``appendfsync always`` for "an
acknowledged task survives a Redis crash"; ``everysec`` may lose the last second). A single Redis
(with replicas/Sentinel if wanted), not Redis Cluster: scripts touch names they compute.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from ..tasks.store import ACTIVE, MAX_ATTEMPTS, QUEUED
from .shared import client, decode_row, encode, guarded, redacted, split_fields

RETAIN = 86400.0  # seconds an ended task's row outlives its result (polling then says it expired)
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

_TASK_TYPES: dict[str, type] = {
    "id": str, "state": int, "progress": int, "message": str, "params": str, "image_id": str, "image_url": str,
    "callback_url": str, "base_url": str, "created_at": float, "processed_at": float, "completed_at": float,
    "attempts": int, "worker": str, "lease_until": float, "result_token": str, "result_format": str,
    "sheet_token": str, "result_expires": float, "report": str, "callback_status": str, "owner": str,
}
_CB_TYPES: dict[str, type] = {
    "task_id": str, "url": str, "state": str, "attempts": int, "next_at": float, "last_error": str, "worker": str,
    "lease_until": float, "created_at": float, "ended_at": float,
}
_ACTIVE_LUA = " or ".join(f"state == '{s}'" for s in ACTIVE)

# A failed task's credits, given back in the script that ends it (once: the task's 'refunded' field).
_REFUND_FN = """
local function refund(task, prefix)
  local params = redis.call('HGET', task, 'params')
  if not params then return end
  local ok, decoded = pcall(cjson.decode, params)
  if not ok or type(decoded) ~= 'table' then return end
  local billing = decoded['_billing']
  if type(billing) ~= 'table' or type(billing['key']) ~= 'string' then return end
  local cost = tonumber(billing['cost'] or 0) or 0
  if cost <= 0 then return end
  if redis.call('HSETNX', task, 'refunded', '1') == 0 then return end
  local key = prefix .. 'key:' .. billing['key']
  if not redis.call('HGET', key, 'credits') then return end
  local used = tonumber(redis.call('HGET', key, 'used') or '0') - cost
  if used < 0 then used = 0 end
  redis.call('HSET', key, 'used', used)
end
"""

# The callback of a task that just ended, due now (once: one row per task).
_QUEUE_CB_FN = """
local function queue_callback(task, id, prefix, now)
  local url = redis.call('HGET', task, 'callback_url')
  local cb = prefix .. 'cb:' .. id
  if url and url ~= '' and redis.call('EXISTS', cb) == 0 then
    redis.call('HSET', cb, 'task_id', id, 'url', url, 'state', 'pending', 'attempts', '0', 'next_at', now,
               'created_at', now)
    redis.call('ZADD', prefix .. 'cbs:first', now, id)
  end
end
"""

# KEYS[1] task, KEYS[2] queued, KEYS[3] active; ARGV id, worker, now, lease_until.
_CLAIM = f"""
if redis.call('HGET', KEYS[1], 'state') ~= '{QUEUED}' then return 0 end
redis.call('HSET', KEYS[1], 'state', '{ACTIVE[0]}', 'worker', ARGV[2], 'lease_until', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSETNX', KEYS[1], 'processed_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
"""

# KEYS[1] task, KEYS[2] active, KEYS[3] the fetched input (or the task again); ARGV id, worker,
# lease_until, has_input, n, n name/value pairs, names to delete.
_UPDATE = f"""
local state = redis.call('HGET', KEYS[1], 'state')
if not ({_ACTIVE_LUA}) then return 0 end
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then return 0 end
local n = tonumber(ARGV[5])
for i = 0, n - 1 do redis.call('HSET', KEYS[1], ARGV[6 + 2 * i], ARGV[7 + 2 * i]) end
for i = 6 + 2 * n, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('HSET', KEYS[1], 'lease_until', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[3]) == 1 and redis.call('HEXISTS', KEYS[3], 'owner') == 0 then
  local owner = redis.call('HGET', KEYS[1], 'owner')
  if owner then redis.call('HSET', KEYS[3], 'owner', owner) end
end
return 1
"""

# KEYS[1] task, KEYS[2] queued, KEYS[3] active, KEYS[4..] its result files; ARGV id, worker ('' =
# whoever), now, keep (s), result expiry (ms, '0' = none), prefix, refund ('1' for a failure), n,
# pairs, names to delete.
_FINISH = _REFUND_FN + _QUEUE_CB_FN + f"""
local state = redis.call('HGET', KEYS[1], 'state')
if not (state == '{QUEUED}' or {_ACTIVE_LUA}) then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then return 0 end
local n = tonumber(ARGV[8])
for i = 0, n - 1 do redis.call('HSET', KEYS[1], ARGV[9 + 2 * i], ARGV[10 + 2 * i]) end
for i = 9 + 2 * n, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
queue_callback(KEYS[1], ARGV[1], ARGV[6], ARGV[3])
if ARGV[7] == '1' then refund(KEYS[1], ARGV[6]) end
if ARGV[5] ~= '0' then
  for i = 4, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIREAT', KEYS[i], ARGV[5]) end
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS[1] active, KEYS[2] queued; ARGV now, max attempts, prefix, message, keep (s).
_RECOVER = _REFUND_FN + _QUEUE_CB_FN + f"""
local now = tonumber(ARGV[1])
local again, dead = {{}}, {{}}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])) do
  local task = ARGV[3] .. 'task:' .. id
  local state = redis.call('HGET', task, 'state')
  local lease = tonumber(redis.call('HGET', task, 'lease_until') or '0') or 0
  if not ({_ACTIVE_LUA}) then
    redis.call('ZREM', KEYS[1], id)
  elseif lease >= now then
    redis.call('ZADD', KEYS[1], lease, id)
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', task, 'worker', 'lease_until')
    if tonumber(redis.call('HGET', task, 'attempts') or '0') < tonumber(ARGV[2]) then
      redis.call('HSET', task, 'state', '{QUEUED}', 'progress', '0')
      redis.call('ZADD', KEYS[2], redis.call('HGET', task, 'created_at') or ARGV[1], id)
      again[#again + 1] = id
    else
      redis.call('HSET', task, 'state', '-1', 'message', ARGV[4], 'completed_at', ARGV[1])
      queue_callback(task, id, ARGV[3], ARGV[1])
      refund(task, ARGV[3])
      redis.call('EXPIRE', task, ARGV[5])
      dead[#dead + 1] = id
    end
  end
end
return {{again, dead}}
"""

# KEYS[1] cbs:first, KEYS[2] cbs:retry, KEYS[3] cbs:sending; ARGV now, first delay, worker, lease
# until, prefix. The callback row as claimed (HGETALL), or nil when none is due.
_CLAIM_CB = """
local now, delay = tonumber(ARGV[1]), tonumber(ARGV[2])
local best, best_due, from = nil, nil, nil
local function look(zset, upto, shift)
  local got = redis.call('ZRANGEBYSCORE', zset, '-inf', upto, 'WITHSCORES', 'LIMIT', 0, 1)
  if got[1] then
    local due = tonumber(got[2]) + shift
    if best_due == nil or due < best_due then best, best_due, from = got[1], due, zset end
  end
end
look(KEYS[1], tostring(now - delay), delay)
look(KEYS[2], ARGV[1], 0)
look(KEYS[3], '(' .. ARGV[1], 0)
if best == nil then return nil end
local cb = ARGV[5] .. 'cb:' .. best
redis.call('ZREM', from, best)
if redis.call('EXISTS', cb) == 0 then return nil end
redis.call('HSET', cb, 'state', 'sending', 'worker', ARGV[3], 'lease_until', ARGV[4])
redis.call('HINCRBY', cb, 'attempts', 1)
redis.call('ZADD', KEYS[3], ARGV[4], best)
return redis.call('HGETALL', cb)
"""

# KEYS[1] cb, KEYS[2] task, KEYS[3] cbs:retry, KEYS[4] cbs:sending; ARGV task id, worker, outcome
# (delivered|failed|retry), now, error, retry at, status, keep (s).
_CB_ATTEMPTED = """
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] or redis.call('HGET', KEYS[1], 'state') ~= 'sending' then
  return 0
end
redis.call('HDEL', KEYS[1], 'worker', 'lease_until')
redis.call('ZREM', KEYS[4], ARGV[1])
if ARGV[3] == 'delivered' then
  redis.call('HSET', KEYS[1], 'state', 'delivered', 'ended_at', ARGV[4])
  redis.call('HDEL', KEYS[1], 'last_error')
  redis.call('EXPIRE', KEYS[1], ARGV[8])
elseif ARGV[3] == 'failed' then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'ended_at', ARGV[4], 'last_error', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[8])
else
  redis.call('HSET', KEYS[1], 'state', 'pending', 'next_at', ARGV[6], 'last_error', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HSET', KEYS[2], 'callback_status', ARGV[7]) end
return 1
"""


def _valid_result_name(name: str) -> bool:
    token, _, ext = name.partition(".")
    return bool(token) and ext in ("jpg", "png") and set(token) <= _NAME_OK


class RedisTaskStore:
    """The task store on Redis (see the module's docstring); the interface of checker.store.api.Tasks."""

    refunds_with_end = True

    def __init__(self, url: str, prefix: str = "idphoto", ttl: float = 3600.0) -> None:
        self.url = url
        self.prefix = prefix.rstrip(":") + ":"
        self.ttl = ttl
        self.where = f"{redacted(url)} (prefix {self.prefix})"
        self._redis = client(url)
        r = self._redis
        self._claim = r.register_script(_CLAIM)
        self._update = r.register_script(_UPDATE)
        self._finish = r.register_script(_FINISH)
        self._recover = r.register_script(_RECOVER)
        self._claim_cb = r.register_script(_CLAIM_CB)
        self._cb_attempted = r.register_script(_CB_ATTEMPTED)

    # --- names ------------------------------------------------------------------------------------
    def _task(self, task_id: str) -> str:
        return f"{self.prefix}task:{task_id}"

    def _input(self, image_id: str) -> str:
        return f"{self.prefix}input:{image_id}"

    def _result(self, name: str) -> str:
        return f"{self.prefix}result:{name}"

    def _cb(self, task_id: str) -> str:
        return f"{self.prefix}cb:{task_id}"

    @property
    def _keep(self) -> int:
        """Seconds an ended task's row is kept."""
        return max(1, int(self.ttl + RETAIN))

    # --- inputs -----------------------------------------------------------------------------------
    def save_input(self, data: bytes, owner: str | None = None) -> str:
        image_id = str(uuid.uuid4())
        now = time.time()
        mapping: dict[str, Any] = {"data": data, "created_at": encode(now), "expires": encode(now + self.ttl)}
        if owner is not None:
            mapping["owner"] = owner
        with guarded():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self._input(image_id), mapping=mapping)
            pipe.pexpire(self._input(image_id), max(1, int(self.ttl * 1000)))
            pipe.execute()
        return image_id

    def discard_input(self, image_id: str) -> None:
        try:
            with guarded():
                self._redis.delete(self._input(image_id))
        except Exception:  # best effort: it expires by itself
            pass

    def input_exists(self, image_id: str) -> bool:
        with guarded():
            return bool(self._redis.exists(self._input(image_id)))

    def input_visible(self, image_id: str, key_id: str | None) -> bool:
        with guarded():
            pipe = self._redis.pipeline(transaction=False)
            pipe.exists(self._input(image_id))
            pipe.hget(self._input(image_id), "owner")
            exists, owner = pipe.execute()
        return bool(exists) and (owner is None or owner.decode() == key_id)

    def read_input(self, image_id: str) -> bytes:
        with guarded():
            data = self._redis.hget(self._input(image_id), "data")
        if data is None:
            raise FileNotFoundError(f"input {image_id} is no longer kept")
        return bytes(data)

    # --- tasks ------------------------------------------------------------------------------------
    def create(self, params: dict[str, Any], *, image_id: str | None, image_url: str | None,
               callback_url: str | None, base_url: str, owner: str | None = None) -> str:
        import json

        task_id = str(uuid.uuid4())
        now = time.time()
        row = {"id": task_id, "state": QUEUED, "progress": 0, "message": "", "params": json.dumps(params),
               "image_id": image_id, "image_url": image_url, "callback_url": callback_url, "base_url": base_url,
               "created_at": now, "attempts": 0, "owner": owner}
        with guarded():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(self._task(task_id), mapping={k: encode(v) for k, v in row.items() if v is not None})
            pipe.zadd(f"{self.prefix}tasks:queued", {task_id: now})
            pipe.execute()
        return task_id

    def get(self, task_id: str) -> dict[str, Any] | None:
        with guarded():
            raw = self._redis.hgetall(self._task(task_id))
        return decode_row(raw, _TASK_TYPES) if raw else None

    def claim(self, task_id: str, worker: str, lease: float) -> bool:
        now = time.time()
        with guarded():
            return bool(self._claim(keys=[self._task(task_id), f"{self.prefix}tasks:queued",
                                          f"{self.prefix}tasks:active"],
                                    args=[task_id, worker, encode(now), encode(now + lease)]))

    def update(self, task_id: str, worker: str, lease: float, **fields: Any) -> bool:
        sets, dels = split_fields(fields)
        image_id = fields.get("image_id")
        with guarded():
            return bool(self._update(
                keys=[self._task(task_id), f"{self.prefix}tasks:active",
                      self._input(image_id) if image_id else self._task(task_id)],
                args=[task_id, worker, encode(time.time() + lease), "1" if image_id else "0", len(sets) // 2,
                      *sets, *dels]))

    def finish(self, task_id: str, worker: str | None, state: int, message: str = "", **fields: Any) -> bool:
        from ..tasks.store import DONE

        fields = {"state": state, "message": message, "completed_at": time.time(), "lease_until": None, **fields}
        if state == DONE:
            fields["progress"] = 100
        files = [self._result(f"{fields[t]}.{ext}") for t, ext in
                 (("result_token", fields.get("result_format") or "jpg"), ("sheet_token", "jpg")) if fields.get(t)]
        expires = fields.get("result_expires")
        sets, dels = split_fields(fields)
        with guarded():
            return bool(self._finish(
                keys=[self._task(task_id), f"{self.prefix}tasks:queued", f"{self.prefix}tasks:active", *files],
                args=[task_id, worker or "", encode(time.time()), self._keep,
                      str(int(expires * 1000)) if expires else "0", self.prefix, "1" if state < 0 else "0",
                      len(sets) // 2, *sets, *dels]))

    def set_callback_status(self, task_id: str, status: str) -> None:
        with guarded():
            if self._redis.exists(self._task(task_id)):
                self._redis.hset(self._task(task_id), "callback_status", status)

    def queued(self) -> list[str]:
        with guarded():
            return [i.decode() for i in self._redis.zrange(f"{self.prefix}tasks:queued", 0, -1)]

    def recover(self) -> tuple[list[str], list[str]]:
        with guarded():
            again, dead = self._recover(
                keys=[f"{self.prefix}tasks:active", f"{self.prefix}tasks:queued"],
                args=[encode(time.time()), MAX_ATTEMPTS, self.prefix,
                      "the server stopped while processing this task, twice; it was not finished", self._keep])
        return [i.decode() for i in again], [i.decode() for i in dead]

    def claim_resend(self, task_id: str, every: float) -> bool:
        """One (re)send of a queued task to Celery per ``every`` seconds across every node (P:sent:<id>)."""
        with guarded():
            return bool(self._redis.set(f"{self.prefix}sent:{task_id}", b"1", nx=True,
                                        px=max(1, int(every * 1000))))

    # --- callbacks --------------------------------------------------------------------------------
    def callback(self, task_id: str) -> dict[str, Any] | None:
        with guarded():
            raw = self._redis.hgetall(self._cb(task_id))
        return decode_row(raw, _CB_TYPES) if raw else None

    def claim_callback(self, worker: str, lease: float, first_delay: float = 0.0) -> dict[str, Any] | None:
        now = time.time()
        with guarded():
            flat = self._claim_cb(keys=[f"{self.prefix}cbs:first", f"{self.prefix}cbs:retry",
                                        f"{self.prefix}cbs:sending"],
                                  args=[encode(now), encode(float(first_delay)), worker, encode(now + lease),
                                        self.prefix])
        if not flat:
            return None
        return decode_row(dict(zip(flat[::2], flat[1::2], strict=True)), _CB_TYPES)

    def callback_attempted(self, task_id: str, worker: str, *, delivered: bool, status: str,
                           error: str | None = None, retry_at: float | None = None) -> bool:
        outcome = "delivered" if delivered else "failed" if retry_at is None else "retry"
        with guarded():
            return bool(self._cb_attempted(
                keys=[self._cb(task_id), self._task(task_id), f"{self.prefix}cbs:retry",
                      f"{self.prefix}cbs:sending"],
                args=[task_id, worker, outcome, encode(time.time()), error or "",
                      encode(retry_at if retry_at is not None else 0.0), status, max(1, int(self.ttl))]))

    def next_callback_at(self, first_delay: float = 0.0) -> float | None:
        with guarded():
            pipe = self._redis.pipeline(transaction=False)
            for name in ("first", "retry", "sending"):
                pipe.zrange(f"{self.prefix}cbs:{name}", 0, 0, withscores=True)
            first, retry, sending = pipe.execute()
        due = [score + first_delay for _, score in first] + [score for _, score in retry + sending]
        return min(due) if due else None

    # --- results ----------------------------------------------------------------------------------
    def save_result(self, data: bytes, ext: str) -> str:
        """Kept for the task's TTL (and a minute's margin) until the task's end sets its expiry."""
        token = secrets.token_urlsafe(24)
        with guarded():
            self._redis.set(self._result(f"{token}.{ext}"), data, px=max(1, int((self.ttl + 60) * 1000)))
        return token

    def read_result(self, name: str) -> bytes | None:
        if not _valid_result_name(name):
            return None
        with guarded():
            data = self._redis.get(self._result(name))
        return None if data is None else bytes(data)

    def discard_result(self, name: str) -> None:
        if _valid_result_name(name):
            with guarded():
                self._redis.delete(self._result(name))

    def sweep(self) -> int:
        """Nothing to delete: Redis expires inputs, results and ended rows by itself."""
        return 0
