"""API keys: storage (hashed), expiry, revocation, scopes, rate windows, credits counted exactly
under concurrency (threads and processes), seed 002's prices, and the `idphoto keys` CLI; each on both
backends (``backend``: the SQLite file and the shared Redis store, tests/redisd.py)."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
import time

import pytest

from checker.errors import CheckerError
from checker.keys import split_key

pytest_plugins = ["tests.redisd"]  # the backend fixture: SQLite and Redis


@pytest.fixture
def store(tmp_path, backend):
    return backend.keys(tmp_path / "keys.sqlite3")


def stored(store, backend) -> list[str]:
    """Everything the store wrote, as text: the rows of the file, or every value under the prefix."""
    if not backend.redis:
        return [str(row) for row in sqlite3.connect(store.path).execute("SELECT * FROM api_keys").fetchall()]
    from checker.store.shared import client

    r = client(backend.config["STORE_URL"])
    out = []
    for name in r.scan_iter(match=f"{backend.config['STORE_PREFIX']}:*"):
        kind = r.type(name)
        value = r.hgetall(name) if kind == b"hash" else r.zrange(name, 0, -1) if kind == b"zset" else (
            r.smembers(name) if kind == b"set" else r.get(name))
        out.append(f"{name!r} {value!r}")
    return out


def test_secret_is_stored_only_as_a_hash(store, backend):
    key = store.create("ci")
    key_id, secret = split_key(key)
    raw = stored(store, backend)
    assert raw and all(secret not in row for row in raw)
    assert any(key_id in row for row in raw)
    assert store.authenticate(key_id, secret).id == key_id


@pytest.mark.parametrize("change", ["secret", "id", "revoked"])
def test_wrong_or_revoked_credentials_are_unauthorized(store, change):
    key_id, secret = split_key(store.create())
    if change == "secret":
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    elif change == "id":
        key_id = "k000000000000"
    else:
        assert store.revoke(key_id)
        assert not store.revoke(key_id)  # revoking twice says so
    with pytest.raises(CheckerError) as exc:
        store.authenticate(key_id, secret)
    assert (exc.value.status, exc.value.http) == ("UNAUTHORIZED", 401)


def test_expired_key(store, monkeypatch):
    key_id, secret = split_key(store.create(expires_in_days=1))
    store.authenticate(key_id, secret)
    later = time.time() + 86400 + 5
    monkeypatch.setattr("checker.keys.time.time", lambda: later)
    with pytest.raises(CheckerError) as exc:
        store.authenticate(key_id, secret)
    assert (exc.value.status, exc.value.http) == ("KEY_EXPIRED", 401)


@pytest.mark.parametrize("text", ["", "nodot", ".secret", "id.", None])
def test_malformed_keys(text):
    with pytest.raises(CheckerError) as exc:
        split_key(text)
    assert exc.value.status == "UNAUTHORIZED"


def test_bad_key_options_are_refused(store):
    for kwargs in ({"scopes": ["everything"]}, {"scopes": []}, {"credits": -1}, {"rate_per_second": 0}):
        with pytest.raises(ValueError):
            store.create(**kwargs)


def test_scopes(store):
    key = store.get(split_key(store.create(scopes=["mask", "matting"]))[0])
    assert key.allows("mask") and key.allows("matting") and not key.allows("check")
    assert store.get(split_key(store.create())[0]).allows("tasks")


def test_rate_window_under_concurrency(store, monkeypatch):
    """20 requests in the same second against 5/s: exactly 5 pass; the next second lets 5 more."""
    now = [1_000_000.25]
    monkeypatch.setattr("checker.keys.time.time", lambda: now[0])
    key = store.get(split_key(store.create(rate_per_second=5))[0])
    outcomes: list[object] = []

    def hit() -> None:
        try:
            store.hit(key)
            outcomes.append("ok")
        except CheckerError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [o for o in outcomes if o != "ok"]
    assert outcomes.count("ok") == 5 and len(refused) == 15
    assert {e.status for e in refused} == {"RATE_LIMIT_EXCEEDED"}
    assert {e.retry_after for e in refused} == {1}
    now[0] += 1
    store.hit(key)
    assert store.get(key.id).requests == 6  # refused requests are not counted as made


def test_no_rate_limit_without_a_rate(store):
    key = store.get(split_key(store.create())[0])
    for _ in range(50):
        store.hit(key)


def test_credits_threads_never_double_spend(store):
    key = store.get(split_key(store.create(credits=100))[0])
    ok, refused = [], []

    def spend() -> None:
        try:
            ok.append(store.spend(key, 6))
        except CheckerError as exc:
            refused.append(exc.status)

    threads = [threading.Thread(target=spend) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 16 and set(refused) == {"OUT_OF_QUOTA"}  # 16 x 6 = 96 <= 100 < 17 x 6
    assert sorted(ok) == [100 - 6 * n for n in range(16, 0, -1)]  # each spend saw its own balance
    assert store.get(key.id).remaining == 4


def _spend_many(cfg: dict, key_id: str, n: int, out) -> None:
    from checker.store import open_keys

    store = open_keys(cfg)
    key = store.get(key_id)
    done = 0
    for _ in range(n):
        try:
            store.spend(key, 1)
            done += 1
        except CheckerError:
            pass
    out.put(done)


def test_credits_processes_never_double_spend(store, backend, tmp_path):
    """Several server processes share the key file (or the Redis store): 4 x 50 attempts on 120 credits
    spend exactly 120."""
    key_id = split_key(store.create(credits=120))[0]
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    cfg = {"KEYS_DB": str(tmp_path / "keys.sqlite3"), **backend.config}
    procs = [ctx.Process(target=_spend_many, args=(cfg, key_id, 50, out)) for _ in range(4)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert total == 120
    assert store.get(key_id).remaining == 0


def test_refund_and_unlimited(store):
    key = store.get(split_key(store.create(credits=10))[0])
    store.spend(key, 6)
    store.refund(key.id, 6)
    assert store.get(key.id).remaining == 10
    unlimited = store.get(split_key(store.create())[0])
    assert store.spend(unlimited, 1000) is None
    store.refund(unlimited.id, 5)
    assert store.get(unlimited.id).used == 0


def test_cli_create_list_revoke(runner, tmp_path, monkeypatch, backend):
    from checker.cli import main

    monkeypatch.setenv("CHECKER_KEYS_DB", str(tmp_path / "cli-keys.sqlite3"))
    for name, value in backend.env.items():  # `idphoto keys` against the shared store
        monkeypatch.setenv(name, value)
    made = runner.invoke(main, ["keys", "create", "--name", "shop", "--credits", "30", "--rate", "2",
                                "--scope", "mask", "--scope", "matting", "--json"])
    assert made.exit_code == 0, made.output
    created = json.loads(made.stdout)
    assert created["key"] == f"{created['api_id']}.{created['api_secret']}"
    listed = json.loads(runner.invoke(main, ["keys", "list", "--json"]).stdout)
    assert [(k["id"], k["name"], k["state"], k["remaining"], k["scopes"], k["rate_per_second"]) for k in listed] == [
        (created["api_id"], "shop", "active", 30, "mask,matting", 2.0)]
    assert created["api_secret"] not in runner.invoke(main, ["keys", "list"]).output
    gone = runner.invoke(main, ["keys", "revoke", created["key"]])  # the whole key works as well as its id
    assert gone.exit_code == 0
    assert json.loads(runner.invoke(main, ["keys", "list", "--json"]).stdout)[0]["state"] == "revoked"
    again = runner.invoke(main, ["keys", "revoke", created["api_id"]])
    assert again.exit_code != 0 and "no active key" in again.output
    bad = runner.invoke(main, ["keys", "create", "--scope", "everything"])
    assert bad.exit_code == 2
    where = runner.invoke(main, ["keys", "where"]).output
    assert (backend.config["STORE_PREFIX"] if backend.redis else "cli-keys.sqlite3") in where
    limited = json.loads(runner.invoke(main, ["keys", "create", "--credits", "6", "--json"]).stdout)
    assert runner.invoke(main, ["keys", "credits", limited["api_id"], "12"]).exit_code == 0
    assert [k["remaining"] for k in json.loads(runner.invoke(main, ["keys", "list", "--json"]).stdout)
            if k["id"] == limited["api_id"]] == [18]


def test_serve_binds_loopback_until_a_key_exists(tmp_path, monkeypatch, backend):
    from checker.web.server import access_mode

    monkeypatch.setenv("CHECKER_KEYS_DB", str(tmp_path / "serve-keys.sqlite3"))
    for name, value in backend.env.items():  # on the shared store, its keys decide
        monkeypatch.setenv(name, value)
    host, note = access_mode("0.0.0.0")
    assert host == "127.0.0.1" and "open" in note and "0.0.0.0" in note
    assert access_mode("127.0.0.1")[0] == "127.0.0.1"
    assert access_mode("::1")[0] == "::1"
    backend.keys(tmp_path / "serve-keys.sqlite3").create()
    host, note = access_mode("0.0.0.0")
    assert host == "0.0.0.0" and "1 active API key" in note


def test_cli_copies_one_machines_keys_into_the_shared_store(runner, tmp_path, monkeypatch, redis_server):
    """Outgrowing one machine: `idphoto keys copy-from keys.sqlite3` moves every key to Redis, same secrets,
    balances and revocations; the keys then work against the shared store, and a second copy changes nothing."""
    from checker.cli import main
    from checker.keys import KeyStore
    from checker.store import open_keys

    old = KeyStore(tmp_path / "keys.sqlite3")
    kept = old.create("shop", credits=30, rate_per_second=2, scopes=["tasks"])
    old.spend(old.get(split_key(kept)[0]), 6)
    gone = old.create("old")
    old.revoke(split_key(gone)[0])
    cfg = {"STORE_URL": redis_server.url, "STORE_PREFIX": f"copy{time.time_ns()}"}
    monkeypatch.setenv("CHECKER_STORE_URL", cfg["STORE_URL"])
    monkeypatch.setenv("CHECKER_STORE_PREFIX", cfg["STORE_PREFIX"])
    done = runner.invoke(main, ["keys", "copy-from", str(tmp_path / "keys.sqlite3")])
    assert done.exit_code == 0 and "copied 2 key(s)" in done.output, done.output
    shared = open_keys(cfg)
    key = shared.authenticate(*split_key(kept))
    assert (key.name, key.remaining, key.rate_per_second, key.scopes) == ("shop", 24, 2.0, ("tasks",))
    with pytest.raises(CheckerError):
        shared.authenticate(*split_key(gone))
    assert shared.active_count() == 1
    again = runner.invoke(main, ["keys", "copy-from", str(tmp_path / "keys.sqlite3")])
    assert "copied 0 key(s)" in again.output and "2 already there" in again.output
    monkeypatch.delenv("CHECKER_STORE_URL")
    refused = runner.invoke(main, ["keys", "copy-from", str(tmp_path / "keys.sqlite3")])
    assert refused.exit_code != 0 and "CHECKER_STORE_URL" in refused.output
