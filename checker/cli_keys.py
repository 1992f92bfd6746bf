"""``idphoto keys``: API keys for the HTTP service (create, list, revoke, credits).

Keys live where the servers keep them: on the shared Redis store when $CHECKER_STORE_URL is set (every
API server of a multi-machine deployment sees a change at once), else in SQLite ($CHECKER_KEYS_DB, else
keys.sqlite3 in the instance folder: $CHECKER_INSTANCE_DIR or the per-user data folder, e.g.
~/.local/share/idphoto/instance). Secrets are stored hashed. While there is no active key the server is
open but answers only its own machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import click

from .keys import SCOPES, Key
from .store import Keys, open_keys

T = TypeVar("T")


def _store() -> Keys:
    from .tasks.settings import env_config

    try:
        return open_keys(env_config())
    except ValueError as exc:  # a CHECKER_STORE_URL that is not a Redis URL
        raise click.ClickException(str(exc)) from None


def _guarded(action: Callable[[], T]) -> T:
    """Run ``action()``; a store that cannot be reached is a one-line error, not a traceback."""
    from .errors import StorageUnavailable

    try:
        return action()
    except StorageUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def _row(k: Key) -> dict[str, object]:
    state = "revoked" if k.revoked_at else "expired" if k.expires_at and k.expires_at <= time.time() else "active"
    return {"id": k.id, "name": k.name, "state": state, "created": _when(k.created_at), "expires": _when(k.expires_at),
            "rate_per_second": k.rate_per_second, "credits": k.credits, "remaining": k.remaining,
            "scopes": ",".join(k.scopes), "requests": k.requests}


@click.group("keys")
def keys_group() -> None:
    """API keys for the HTTP service (on $CHECKER_STORE_URL when set; else the file $CHECKER_KEYS_DB, else
    keys.sqlite3 in $CHECKER_INSTANCE_DIR or ~/.local/share/idphoto/instance)."""


@keys_group.command("create")
@click.option("--name", default="", help="Who or what the key is for.")
@click.option("--credits", type=click.IntRange(min=0), default=None,
              help="Credit balance (PicWish's prices: 6 per photo, more with options; 1 per eye-masking or "
                   "matting call). Default: unlimited.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Requests per second allowed. Default: unlimited.")
@click.option("--expires-in-days", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Days until the key stops working. Default: never.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["*", *SCOPES]),
              help="An API the key may call (repeatable). Default: all.")
@click.option("--json", "as_json", is_flag=True)
def create_cmd(name: str, credits: int | None, rate: float | None, expires_in_days: float | None,
               scopes: tuple[str, ...], as_json: bool) -> None:
    """Create a key and print it. The secret is shown this once only."""
    store = _store()
    key = _guarded(lambda: store.create(name, credits=credits, rate_per_second=rate,
                                        expires_in_days=expires_in_days, scopes=scopes or ("*",)))
    key_id, _, secret = key.partition(".")
    if as_json:
        click.echo(json.dumps({"key": key, "api_id": key_id, "api_secret": secret}))
        return
    click.echo(key)
    click.echo(f"stored in {store.where}. Send it as the APIKEY or X-API-KEY header or as app_key, or as "
               f"api_id={key_id} with api_secret=<the part after the dot>.", err=True)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json: bool) -> None:
    """Every key: state, limits, credits left, requests so far (never the secret)."""
    store = _store()
    rows = [_row(k) for k in _guarded(store.list)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no keys: the server is open to its own machine only", err=True)
        return
    cols = ("id", "name", "state", "expires", "rate_per_second", "remaining", "scopes", "requests")
    table = [[c.upper() for c in cols]] + [["-" if r[c] is None else str(r[c]) for c in cols] for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(cols))]
    for t in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)).rstrip())


@keys_group.command("revoke")
@click.argument("key_id")
def revoke_cmd(key_id: str) -> None:
    """Stop KEY_ID (the part before the dot) from working, at once, for every server process."""
    key_id = key_id.partition(".")[0]
    store = _store()
    if not _guarded(lambda: store.revoke(key_id)):
        raise click.ClickException(f"no active key {key_id!r} (see `idphoto keys list`)")
    click.echo(f"revoked {key_id}", err=True)


@keys_group.command("credits")
@click.argument("key_id")
@click.argument("credits", type=int)
def credits_cmd(key_id: str, credits: int) -> None:
    """Add CREDITS to KEY_ID's balance (a negative number takes them away); prints what remains."""
    key_id = key_id.partition(".")[0]
    store = _store()
    if _guarded(lambda: store.get(key_id)) is None:
        raise click.ClickException(f"no key {key_id!r} (see `idphoto keys list`)")
    _guarded(lambda: store.add_credits(key_id, credits))
    key = _guarded(lambda: store.get(key_id))
    click.echo(f"{key_id}: {key.remaining if key else '?'} credits left", err=True)


@keys_group.command("copy-from")
@click.argument("sqlite_file", type=click.Path(exists=True, dir_okay=False))
def copy_from_cmd(sqlite_file: str) -> None:
    """Copy every key of SQLITE_FILE (a one-machine keys.sqlite3) into the shared store ($CHECKER_STORE_URL):
    the same ids and secrets (hashed), balances, expiries and revocations. Keys already there are left alone."""
    from .keys import KeyStore
    from .store.redis_keys import RedisKeyStore

    store = _store()
    if not isinstance(store, RedisKeyStore):
        raise click.ClickException("set CHECKER_STORE_URL to the shared store to copy the keys into")
    copied = skipped = 0
    for row in KeyStore(sqlite_file).rows():
        if _guarded(partial(store.import_row, row)):
            copied += 1
        else:
            skipped += 1
    click.echo(f"copied {copied} key(s) into {store.where}" + (f"; {skipped} already there" if skipped else ""),
               err=True)


@keys_group.command("where")
def where_cmd() -> None:
    """Where the keys are kept (the shared store's URL without its password, or the SQLite file)."""
    click.echo(_store().where)
