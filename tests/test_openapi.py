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
    unsupported_method,
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
          response_headers_conformance, unsupported_method]


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


def _bodies(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for ctype, media in op.get("requestBody", {}).get("content", {}).items():
                yield path, method, ctype, media["schema"]


def test_what_an_endpoint_needs_is_marked_required(app, client):
    """A body the document allows must not be refused for a missing field: an empty form is either
    invalid by the document (required fields, or one of the image fields) or accepted by the API."""
    import io

    from jsonschema import Draft202012Validator

    from .conftest import new_key

    key = new_key(app)
    doc = client.get("/openapi.json").get_json()
    checked = 0
    for path, method, ctype, schema in _bodies(doc):
        if ctype != "multipart/form-data":
            continue
        resp = client.open(path, method=method.upper(), headers={"APIKEY": key}, data={"unused": (io.BytesIO(b""), "")},
                           content_type="multipart/form-data")
        if resp.status_code == 400:
            assert not Draft202012Validator(schema).is_valid({}), (path, resp.get_json())
            checked += 1
    assert checked >= 12  # every endpoint that takes a photo


def test_one_of_the_image_fields_is_enough(client):
    from jsonschema import Draft202012Validator

    doc = client.get("/openapi.json").get_json()
    post = {p: item["post"] for p, item in doc["paths"].items() if "post" in item}

    def valid(path: str, body: dict, ctype: str = "multipart/form-data") -> bool:
        return Draft202012Validator(post[path]["requestBody"]["content"][ctype]["schema"]).is_valid(body)

    for field in ("input_image", "input_image_base64"):
        assert valid("/idphoto", {field: "x"}) and valid("/set_kb", {field: "x", "kb": 20})
    assert not valid("/set_kb", {"input_image": "x"})  # kb is required too
    for field in ("image_file", "image_url", "last_id"):
        assert valid("/api/tasks/visual/external/idphoto", {field: "x"})
    for field in ("selfie_file", "selfie_url", "selfie_image_id"):
        assert valid("/identity/mask_selfie_image", {field: "x"})
    assert not valid("/identity/mask_selfie_image", {"selfie_url": "x", "selfie_image_id": "y"})  # exactly one
    for field in ("file", "input_image", "image_file", "input_image_base64"):
        assert valid("/api/fix", {field: "x", "spec_id": 1102})
    assert not valid("/api/fix", {"file": "x"})  # and a spec
    assert valid("/api/check_pic", {"file": "x", "spec_id": 1102}, "application/json")
    assert valid("/api/v1/matting", {"file": "x"})


# Requests the document calls valid, fuzzed: none is refused for lacking a field (the document marks
# what is needed: required fields, one of the image fields). Refusals for what a schema cannot say
# (an image id kept nowhere, bytes that are no photo) are not this test's business.
positive = schemathesis.openapi.from_wsgi("/openapi.json", _app).include(method="POST")
positive.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE], max_examples=10,
                                  with_security_parameters=False)
_MISSING = ("EMPTY_IMAGE", "is required", "no image was sent", "send exactly one", "send image_file")
_DOC = _app.test_client().get("/openapi.json").get_json()


def _as_documented(body):
    """The body as the document's schema sees it: an upload is a (non-empty or empty) string."""
    if not isinstance(body, dict):
        return body
    return {k: ("x" * len(v.data) if type(v).__name__ == "Binary" else v) for k, v in body.items()}


@positive.parametrize()
@settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_fuzz_a_valid_body_is_never_refused_for_a_missing_field(case):
    from jsonschema import Draft202012Validator

    schema = _DOC["paths"][case.path]["post"]["requestBody"]["content"][case.media_type]["schema"]
    if not Draft202012Validator(schema).is_valid(_as_documented(case.body)):
        return  # schemathesis adds upload fields after generating the rest (one-of rules can break)
    resp = case.call(headers={"APIKEY": _KEY})
    if resp.status_code == 400:
        text = resp.text
        assert not any(m in text for m in _MISSING), (case.media_type, _as_documented(case.body), text[:300])
