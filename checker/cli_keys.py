"""``idphoto keys``: API keys for the HTTP service (create, list, revoke).

Keys live in SQLite ($CHECKER_KEYS_DB, else keys.sqlite3 in the instance folder: $CHECKER_INSTANCE_DIR or
the per-user data folder, e.g. ~/.local/share/idphoto/instance), secrets stored hashed.
While there is no active key the server is open but answers only its own machine.
"""

from __future__ import annotations

import json
import time

import click

from .keys import SCOPES, Key, KeyStore, default_path


def _store() -> KeyStore:
    return KeyStore(default_path())


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def _row(k: Key) -> dict[str, object]:
    state = "revoked" if k.revoked_at else "expired" if k.expires_at and k.expires_at <= time.time() else "active"
    return {"id": k.id, "name": k.name, "state": state, "created": _when(k.created_at), "expires": _when(k.expires_at),
            "rate_per_second": k.rate_per_second, "credits": k.credits, "remaining": k.remaining,
            "scopes": ",".join(k.scopes), "requests": k.requests}


@click.group("keys")
def keys_group() -> None:
    """API keys for the HTTP service (file: $CHECKER_KEYS_DB, else keys.sqlite3 in $CHECKER_INSTANCE_DIR or
    ~/.local/share/idphoto/instance)."""


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
    key = store.create(name, credits=credits, rate_per_second=rate, expires_in_days=expires_in_days,
                       scopes=scopes or ("*",))
    key_id, _, secret = key.partition(".")
    if as_json:
        click.echo(json.dumps({"key": key, "api_id": key_id, "api_secret": secret}))
        return
    click.echo(key)
    click.echo(f"stored in {store.path}. Send it as the APIKEY or X-API-KEY header or as app_key, or as "
               f"api_id={key_id} with api_secret=<the part after the dot>.", err=True)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json: bool) -> None:
    """Every key: state, limits, credits left, requests so far (never the secret)."""
    rows = [_row(k) for k in _store().list()]
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
    if not _store().revoke(key_id):
        raise click.ClickException(f"no active key {key_id!r} (see `idphoto keys list`)")
    click.echo(f"revoked {key_id}", err=True)
