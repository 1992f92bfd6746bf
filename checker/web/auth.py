"""Who is calling: API keys in the ways each seed sends them, rate limits and credits.

With no key in the store the service is open (and binds to loopback only, see `idphoto serve`).
Keys are accepted as the ``APIKEY`` header (seed 003), ``X-API-KEY`` (seed 002), ``app_key`` in a
JSON body, form or query (seed 004), or ``api_id`` + ``api_secret`` (seed 001).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import current_app, g, request

from ..errors import CheckerError
from ..keys import Key, split_key
from ..store import Keys, open_keys

log = logging.getLogger(__name__)


def key_store() -> Keys:
    """This app's key store: the shared Redis store when STORE_URL (CHECKER_STORE_URL) is set, else the
    SQLite file KEYS_DB (default keys.sqlite3 in the instance folder)."""
    app = current_app
    store = app.extensions.get("idphoto_keys")
    if store is None:
        store = open_keys(app.config)
        app.extensions["idphoto_keys"] = store
    return store


def _field(name: str) -> str | None:
    value = request.args.get(name) or request.form.get(name)
    if not value and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested too deeply: no key in it (the endpoint answers the 400)
            body = None
        if isinstance(body, dict) and isinstance(body.get(name), str):
            value = body[name]
    return value or None


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def credentials() -> tuple[str, str] | None:
    for header in ("APIKEY", "X-API-KEY"):
        if request.headers.get(header):
            return split_key(request.headers[header])
    app_key = _field("app_key")
    if app_key:
        return split_key(app_key)
    api_id, api_secret = _field("api_id"), _field("api_secret")
    if api_id or api_secret:
        if not (api_id and api_secret):
            raise CheckerError("UNAUTHORIZED", "api_id and api_secret go together", http=401)
        return api_id, api_secret
    return None


def authorize(scope: str, *, rate_http: int = 429) -> Key | None:
    """The calling key (None when the service has no keys), allowed ``scope`` (else NO_PERMISSION);
    counts the request against its rate. ``rate_http``: the code RATE_LIMIT_EXCEEDED answers with
    (seed 001 says 403)."""
    if "api_key" in g:
        return g.api_key
    store = key_store()
    if store.active_count() == 0:
        # Open mode is for one machine: `idphoto serve` binds to loopback then; this also holds
        # when gunicorn is started by hand on a public address.
        if not is_loopback(request.remote_addr):
            raise CheckerError("UNAUTHORIZED", "this server has no API keys yet, so it answers only requests from "
                                               "its own machine (create one with `idphoto keys create`)", http=401)
        g.api_key = None
        return None
    creds = credentials()
    if creds is None:
        raise CheckerError("UNAUTHORIZED", "an API key is required (APIKEY or X-API-KEY header, app_key, "
                                           "or api_id and api_secret)", http=401)
    key = store.authenticate(*creds)
    if not key.allows(scope):
        raise CheckerError("NO_PERMISSION", f"this API key may not call the {scope} API", http=403)
    try:
        store.hit(key)
    except CheckerError as exc:
        exc.http = rate_http
        g.retry_after = exc.retry_after  # sent as Retry-After by the app, whatever the envelope
        raise
    g.api_key = key
    return key


def charge(cost: int) -> None:
    """Take the credits a generation costs from the calling key (nothing when open)."""
    key = g.get("api_key")
    if key is not None and cost > 0:
        g.charged = key_store().spend(key, cost)
        g.charged_cost = cost


def refund() -> None:
    """Give back what charge() took, for a request that produced nothing."""
    key, cost = g.get("api_key"), g.get("charged_cost", 0)
    if key is not None and cost:
        key_store().refund(key.id, cost)
        g.charged_cost = 0


@contextmanager
def billed(cost: int) -> Iterator[None]:
    """Charge ``cost`` credits for the work inside; give them back if it raises."""
    charge(cost)
    try:
        yield
    except BaseException:
        try:
            refund()
        except Exception:  # the key file cannot be written either: keep the first error, log the loss
            log.exception("could not give back %s credits to key %s", g.get("charged_cost"),
                          getattr(g.get("api_key"), "id", "?"))
        raise


def require_key(scope: str, *, rate_http: int = 429) -> Callable[[], None]:
    """A blueprint's before_request hook: authorize for ``scope``, then let the request through."""
    def hook() -> None:
        authorize(scope, rate_http=rate_http)

    return hook
