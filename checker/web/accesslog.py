"""gunicorn's logger with the credentials taken out of what the access log writes.

Seed 004 sends ``app_key`` in the query, seed 001 ``api_id`` + ``api_secret``; a key is
``<id>.<secret>``. In the request line (``%(r)s``), the query (``%(q)s``), the referrer and the
environ and header atoms, a secret value becomes ``***`` and a key keeps its public id
(``app_key=k1d.***``), so the log still says who called.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus, unquote_plus

from gunicorn.glogging import Logger

# Query names whose whole value is secret, and names whose value is a key (<id>.<secret>).
SECRET_NAMES = frozenset({"api_secret", "secret", "password", "token", "access_token"})
KEY_NAMES = frozenset({"app_key", "api_key", "apikey", "x-api-key", "key"})
SECRET_HEADERS = ("{apikey}i", "{x-api-key}i", "{authorization}i", "{cookie}i", "{proxy-authorization}i")
HIDDEN = "***"


def _hidden(name: str, value: str) -> str | None:
    """The logged form of a query value, or None when it is not a credential."""
    lowered = name.lower()
    if lowered in KEY_NAMES or lowered.endswith("_key"):
        key_id, dot, _ = value.partition(".")
        return f"{key_id}.{HIDDEN}" if dot and key_id else HIDDEN
    if lowered in SECRET_NAMES or lowered.endswith(("_secret", "_token", "_password")):
        return HIDDEN
    return None


def redact_query(query: str) -> str:
    """``query`` with credential values hidden, everything else as it came."""
    if not query:
        return query
    out = []
    for part in query.split("&"):
        raw_name, eq, raw_value = part.partition("=")
        hidden = _hidden(unquote_plus(raw_name), unquote_plus(raw_value)) if eq else None
        out.append(part if hidden is None else f"{raw_name}={quote_plus(hidden, safe='*')}")
    return "&".join(out)


def redact_uri(uri: str) -> str:
    path, question, query = uri.partition("?")
    return f"{path}?{redact_query(query)}" if question else uri


class RedactingLogger(Logger):
    """``logger_class`` for gunicorn (checker.web.gunicorn_conf sets it)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> Any:
        atoms: dict[str, Any] = dict(super().atoms(resp, req, environ, request_time))
        method, protocol = environ.get("REQUEST_METHOD", "-"), environ.get("SERVER_PROTOCOL", "-")
        atoms["r"] = f"{method} {redact_uri(str(environ.get('RAW_URI', '')))} {protocol}"
        atoms["q"] = redact_query(str(environ.get("QUERY_STRING") or ""))
        atoms["f"] = redact_uri(str(atoms.get("f", "-")))
        for name in ("{raw_uri}e", "{request_uri}e"):
            if name in atoms:
                atoms[name] = redact_uri(str(atoms[name]))
        if "{query_string}e" in atoms:
            atoms["{query_string}e"] = atoms["q"]
        for name in SECRET_HEADERS:
            if name in atoms:
                atoms[name] = HIDDEN
        return atoms
