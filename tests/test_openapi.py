"""The OpenAPI document: valid OpenAPI 3.1, one entry for every route the app has (and no entry
for a route it lacks), a /docs page that needs no network, and schemathesis finding no 500 and no
response that breaks the document."""

from __future__ import annotations

import re
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from checker.keys import KeyStore
from checker.web import create_app


def test_document_is_valid_openapi_31(client):
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert [str(e) for e in OPENAPI_31_VALIDATOR.iter_errors(doc)] == []


def _routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.rsplit(".", 1)[-1] == "static":  # the page's files, not API
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def test_every_route_is_documented_and_nothing_else(app, client):
    doc = client.get("/openapi.json").get_json()
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert documented == _routes(app)


def test_docs_page_needs_no_network(client):
    resp = client.get("/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert not re.findall(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", page)
    assert not re.findall(r"""(?:fetch|import)\s*\(\s*["'](?:https?:)?//""", page)
    assert 'fetch("/openapi.json")' in page
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "http" not in csp


# --- schemathesis ---------------------------------------------------------------------------------
_state = tempfile.mkdtemp(prefix="idphoto-fuzz-")
_app = create_app({"TESTING": True, "KEYS_DB": f"{_state}/keys.sqlite3", "TASKS_DIR": f"{_state}/tasks"})
# The WSGI transport sends no client address, which an open server refuses: fuzz with a key.
_KEY = KeyStore(f"{_state}/keys.sqlite3").create("fuzz")
schema = schemathesis.openapi.from_wsgi("/openapi.json", _app)
schema.config.generation.update(modes=list(schemathesis.GenerationMode), max_examples=40,
                                with_security_parameters=False)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture(scope="module", autouse=True)
def _stop_fuzz_tasks():
    yield
    svc = _app.extensions.get("idphoto_tasks")
    if svc:
        svc.stop()


@schema.parametrize()
@settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_fuzz_finds_no_server_error_and_no_undocumented_answer(case):
    """Valid and invalid requests to every operation: never a 5xx; every answer's status, content
    type, headers and body as the document says."""
    case.call_and_validate(headers={"APIKEY": _KEY}, checks=CHECKS)
