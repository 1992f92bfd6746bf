"""The OpenAPI 3.1 document for every endpoint (served at /openapi.json, rendered at /docs).

Built from a few helpers so that each endpoint is one entry; the error envelopes are the ones
:mod:`checker.web.envelopes` produces, and tests run schemathesis against this document.
"""

from __future__ import annotations

from typing import Any

from ..bodyparts import PARTS
from ..errors import HTTP_CODES
from ..params import Table
from ..params.check import CHECK
from ..params.generation import FIX, TASKS
from ..params.hivision import ENDPOINTS as HIVISION
from ..params.services import MASK, MATTING

Schema = dict[str, Any]

STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
BINARY = {"type": "string", "format": "binary"}
NOT_EMPTY = {"minLength": 1}  # an empty upload or text is no image (a request for one is refused)
GIVEN = {"minLength": 1, "pattern": r"\S"}  # a required text field: blank counts as not given
FLAG = {"oneOf": [{"type": "integer", "enum": [0, 1]}, {"type": "boolean"}, {"type": "string"}],
        "description": "1/0, true/false, yes/no, on/off"}
OBJ = {"type": "object"}
STATUSES = sorted(HTTP_CODES)

# --- error envelopes (checker.web.envelopes) -------------------------------------------------------
ENVELOPES: dict[str, Schema] = {
    "CheckError": {"type": "object", "required": ["code", "status", "message", "request_id"], "properties": {
        "code": INT, "status": {"type": "string", "examples": STATUSES}, "message": STR, "request_id": STR}},
    "HivisionError": {"type": "object", "required": ["status", "error", "message"], "properties": {
        "status": {"const": False}, "error": STR, "message": STR}},
    "TaskError": {"type": "object", "required": ["status", "message"], "properties": {"status": INT, "message": STR}},
    "MaskError": {"type": "object", "required": ["status", "reason", "request_id"], "properties": {
        "status": STR, "image": {"const": "selfie"}, "reason": STR, "request_id": STR}},
    "MattingError": {"type": "object", "required": ["code", "data", "msg", "time"], "properties": {
        "code": {"type": "integer", "not": {"const": 0}}, "data": {"type": "null"}, "msg": STR, "time": INT}},
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _errors(envelope: str, codes: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {str(c): {"description": _REASONS[c], "content": _json(_ref(envelope))} for c in codes}
    out["default"] = {"description": "any other error, same envelope", "content": _json(_ref(envelope))}
    return out


_REASONS = {400: "bad input (status says which)", 401: "UNAUTHORIZED or KEY_EXPIRED",
            403: "NO_PERMISSION, OUT_OF_QUOTA (and RATE_LIMIT_EXCEEDED on the eye-masking API)",
            404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 429: "RATE_LIMIT_EXCEEDED (Retry-After says when to retry)",
            500: "INTERNAL_ERROR", 502: "a remote detector failed",
            503: "STORAGE_UNAVAILABLE: the server cannot write its state just now (Retry-After says when to retry)",
            507: "STORAGE_FULL: the server's storage is full (Retry-After says when to retry)"}
# Every keyed call may write (credits, rate windows, kept images), so a storage fault may answer it.
KEYED = (400, 401, 403, 404, 429, 500, 503, 507)


def _one_of(fields: tuple[str, ...], *, exactly: bool = False) -> Schema:
    """The body must give one of ``fields`` (not empty), or, ``exactly``, just one of them."""
    return {"oneOf" if exactly else "anyOf": [{"required": [f], "properties": {f: NOT_EMPTY}} for f in fields]}


def _base64(schema: Schema) -> Schema:
    return {**schema, "type": "string", "format": "byte"}


def _form(props: dict[str, Schema], required: tuple[str, ...] = (), *, json_too: bool = True,
          strict: bool = False, images: tuple[str, ...] = (), json_images: tuple[str, ...] | None = None,
          base64_fields: tuple[str, ...] = ()) -> Schema:
    """A request body sent as multipart (uploads) or, with base64 images, as a form or JSON.
    ``strict``: other names are refused (the table refuses unknown parameters). ``images``: the
    fields one of which carries the photo in a multipart body; ``json_images`` the same in JSON
    (where an upload field cannot be; default: ``images``). ``base64_fields``: image fields that
    are base64 text, never an upload."""
    props = {k: ({**_base64(v), **NOT_EMPTY} if k in base64_fields else {**v, **NOT_EMPTY} if k in images
                 else {**v, **GIVEN} if k in required else v) for k, v in props.items()}
    multipart: Schema = {"type": "object", "properties": props}
    if required:
        multipart["required"] = list(required)
    if strict:
        multipart["additionalProperties"] = False
    content: dict[str, Any] = {"multipart/form-data": {"schema": {**multipart, **(_one_of(images) if images else {})}}}
    if json_too:
        # In JSON an image is base64 text, not an upload.
        plain = {k: (_base64(v) if v.get("format") == "binary" else v) for k, v in props.items()}
        json_images = images if json_images is None else json_images
        content["application/json"] = {"schema": {**multipart, "properties": plain,
                                                  **(_one_of(json_images) if json_images else {})}}
    return {"required": True, "content": content}


def _op(tag: str, summary: str, ok: dict[str, Any], envelope: str, *, body: Schema | None = None,
        params: list[Schema] | None = None, codes: tuple[int, ...] = KEYED, secure: bool = True,
        description: str = "") -> dict[str, Any]:
    op: dict[str, Any] = {"tags": [tag], "summary": summary, "responses": {"200": ok, **_errors(envelope, codes)}}
    if description:
        op["description"] = description
    if body is not None:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    if not secure:
        op["security"] = []
    return op


def _ok_json(schema: Schema, description: str = "success") -> dict[str, Any]:
    return {"description": description, "content": _json(schema)}


def _ok_image(*types: str) -> dict[str, Any]:
    return {"description": "the image", "content": {t: {"schema": BINARY} for t in types}}


def _path_param(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": STR, "description": description}


def _query(name: str, schema: Schema, description: str = "") -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


# --- request fields: from the parameter tables (checker.params), never written twice ---------------
def _table_form(table: Table, *, json_too: bool = True, required: tuple[str, ...] = (), images: tuple[str, ...] = (),
                json_images: tuple[str, ...] | None = None, base64_fields: tuple[str, ...] = ()) -> Schema:
    """``table``'s fields; those it declares required, ``required`` (what the endpoint itself
    insists on) and one of ``images``."""
    needed = tuple(p.name for p in table.params_list if p.required) + required
    return _form(table.properties(), needed, json_too=json_too, strict=table.strict, images=images,
                 json_images=json_images, base64_fields=base64_fields)


def _hivision(endpoint: str) -> Schema:
    # An upload (multipart only) or base64 text.
    return _table_form(HIVISION[endpoint], images=("input_image", "input_image_base64"),
                       json_images=("input_image_base64",), base64_fields=("input_image_base64",))


def _object(table: Table, required: tuple[str, ...] = (), *, include_images: bool = True,
            exactly_one: tuple[str, ...] = ()) -> Schema:
    out: Schema = {"type": "object", "properties": table.properties(include_images=include_images)}
    if required:
        out["required"] = list(required)
    if table.strict and not table.passthrough_names():
        out["additionalProperties"] = False
    if exactly_one:
        out.update(_one_of(exactly_one, exactly=True))
        for name in exactly_one:  # an empty one counts as sent
            out["properties"][name] = {**out["properties"][name], **NOT_EMPTY}
    return out


def _price_text(table: Table) -> str:
    costs = [f"{name} {p.describe().rsplit('; ', 1)[-1]}" for name, p in table.params.items() if p.cost]
    return f"Costs {table.base_price} credits; " + "; ".join(costs) + "."


CHECK_REPORT = {"type": "object", "required": ["code", "check_result", "spec_id", "result", "value_dict",
                                               "request_id"], "properties": {
    "code": INT, "check_result": {"type": "integer", "enum": [0, 1]}, "spec_id": INT, "name": STR, "name_zh": STR,
    "result": {"type": "object", "description": "check -> 1 pass, 0 fail"},
    "value_dict": {"type": "object", "description": "check -> measured value"},
    "all_check_result": OBJ, "not_check_result": {"type": "array"}, "not_applicable": {"type": "array"},
    "failures": {"type": "array", "items": {"type": "object", "properties": {
        "check": STR, "value": {}, "expected": OBJ, "message": STR}}},
    "expected": OBJ,
    "checks": {"type": "array", "description": "every active check as a row: status pass, fail, not_assessed or "
                                               "not_applicable, titles, value, expected window and wording, reason",
               "items": {"type": "object", "required": ["check", "status", "title", "expected_text", "message"],
                         "properties": {"check": STR, "status": {"enum": ["pass", "fail", "not_assessed",
                                                                            "not_applicable"]},
                                        "title": STR, "title_zh": STR, "value": {}, "unit": STR, "expected": OBJ,
                                        "expected_text": STR, "expected_text_zh": STR, "message": STR,
                                        "message_zh": STR}}},
    "overlay": {"type": "object", "description": "geometry to draw over the photo, in its pixels",
                "required": ["size", "face_box", "eyes", "chin_y", "crown_y", "crown_window", "eye_window"],
                "properties": {"size": {"type": "array", "items": INT}, "face_box": {"type": ["array", "null"]},
                               "eyes": {"type": ["array", "null"]}, "chin_y": {"type": ["number", "null"]},
                               "crown_y": {"type": ["number", "null"]}, "crown_window": {"type": ["array", "null"]},
                               "eye_window": {"type": ["array", "null"]}}},
    "request_id": STR}}

POINT = {"type": "object", "required": ["score", "x", "y"], "properties": {"score": NUM, "x": NUM, "y": NUM}}
BODY_ANALYSIS = {"type": "object", "required": ["person_num", "person_info"], "properties": {
    "person_num": INT,
    "person_info": {"type": "array", "items": {"type": "object", "required": ["body_parts", "location"], "properties": {
        "body_parts": {"type": "object", "required": list(PARTS), "properties": {p: POINT for p in PARTS}},
        "location": {"type": "object", "required": ["score", "top", "left", "width", "height"],
                     "properties": {k: NUM for k in ("score", "top", "left", "width", "height")}}}}}}}


def _picup_ok(data: Schema) -> Schema:
    return {"type": "object", "required": ["code", "data", "msg", "time"], "properties": {
        "code": {"const": 0}, "data": data, "msg": {"type": "null"}, "time": INT}}


def _hivision_ok(*fields: str) -> Schema:
    props = {"status": {"const": True}, **{f: {"type": ["string", "null"]} for f in fields}}
    return {"type": "object", "required": ["status", fields[0]], "properties": props}


TASK_POLL = {"type": "object", "required": ["status", "data"], "properties": {
    "status": {"const": 200}, "message": STR, "data": {"type": "object", "required": ["task_id", "state"],
                                                      "properties": {"task_id": STR, "state": INT, "progress": INT}}}}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    picup = _object(MATTING, ("file",))
    picup["properties"]["file"] = {**picup["properties"]["file"], **NOT_EMPTY}
    picup_body = {"required": True, "content": {"multipart/form-data": {"schema": picup}}}
    paths: dict[str, Any] = {
        # --- check (id-photo-verify-compatible) ---
        "/api/check_pic": {"post": _op("check", "Check a photo against a spec", _ok_json(CHECK_REPORT), "CheckError",
                                       body=_form(CHECK.properties(), ("spec_id",),
                                                  images=("file", "image", "input_image"), json_images=("file",)),
                                       description="JSON {file: base64, spec_id, <threshold overrides>} or "
                                                   "multipart. 200 whether the photo passes or fails.")},
        "/api/specs": {"get": _op("check", "List document specs", _ok_json({"type": "object", "required": [
            "code", "count", "specs"], "properties": {"code": INT, "count": INT, "specs": {"type": "array"}}}),
            "CheckError", params=[_query("search", STR), _query("q", STR), _query("category", STR),
                                  _query("country", STR)], secure=False,
            codes=(400, 500))},
        "/api/specs/{ref}": {"get": _op("check", "One spec, with its checks", _ok_json({"type": "object", "required": [
            "code", "spec"], "properties": {"code": INT, "spec": OBJ}}), "CheckError",
            params=[_path_param("ref", "numeric id or slug")], secure=False, codes=(404, 500))},
        "/api/clothes": {"get": _op("generate", "List the outfit change's garments (clothes_id)", _ok_json(
            {"type": "object", "required": ["code", "clothes"], "properties": {"code": INT, "clothes": {
                "type": "array", "items": {"type": "object", "required": ["id", "name", "name_zh", "thumbnail"],
                                           "properties": {"id": STR, "name": STR, "name_zh": STR,
                                                          "thumbnail": STR}}}}}),
            "CheckError", secure=False, codes=(500,))},
        "/api/clothes/{gid}.png": {"get": _op("generate", "A garment's thumbnail (PNG with alpha)",
                                              _ok_image("image/png"), "CheckError",
                                              params=[_path_param("gid", "a clothes_id")], secure=False,
                                              codes=(404, 500))},
        "/api/fix": {"post": _op("generate", "Repair a photo to a spec and check the result", _ok_json(
            {"type": "object", "required": ["code", "passed", "photo"], "properties": {
                "code": INT, "passed": BOOL, "photo": STR, "format": STR, "fixed": {"type": "array"},
                "unfixable": {"type": "array"}, "before": OBJ, "after": OBJ, "transparent": STR,
                "hd": STR}}), "CheckError",
            body=_table_form(FIX, required=("spec_id",),
                             images=("file", "input_image", "image_file", "input_image_base64"),
                             json_images=("file", "input_image_base64"), base64_fields=("input_image_base64",)),
            description=_price_text(FIX))},
        # --- HivisionIDPhotos-compatible ---
        "/idphoto": {"post": _op("hivision", "Transparent standard and HD ID photos",
                                 _ok_json(_hivision_ok("image_base64_standard", "image_base64_hd",
                                                       "human_matting_model")), "HivisionError",
                                 body=_hivision("/idphoto"))},
        "/idphoto_crop": {"post": _op("hivision", "Frame an already transparent cut-out",
                                      _ok_json(_hivision_ok("image_base64", "image_base64_standard",
                                                            "image_base64_hd")), "HivisionError",
                                      body=_hivision("/idphoto_crop"))},
        "/human_matting": {"post": _op("hivision", "Cut the person out (transparent PNG)",
                                       _ok_json(_hivision_ok("image_base64", "human_matting_model")), "HivisionError",
                                       body=_hivision("/human_matting"))},
        "/add_background": {"post": _op("hivision", "Put a cut-out on a colour or gradient",
                                        _ok_json(_hivision_ok("image_base64")), "HivisionError",
                                        body=_hivision("/add_background"))},
        "/generate_layout_photos": {"post": _op("hivision", "A print sheet of the photo",
                                                _ok_json(_hivision_ok("image_base64")), "HivisionError",
                                                body=_hivision("/generate_layout_photos"))},
        "/watermark": {"post": _op("hivision", "Tile a text watermark", _ok_json(_hivision_ok("image_base64")),
                                   "HivisionError", body=_hivision("/watermark"))},
        "/set_kb": {"post": _op("hivision", "Re-encode to an exact file size", _ok_json(_hivision_ok("image_base64")),
                                "HivisionError", body=_hivision("/set_kb"))},
        # --- PicWish-compatible ID-photo tasks ---
        "/api/tasks/visual/external/idphoto": {"post": _op(
            "tasks", "Create an ID-photo task", _ok_json({"oneOf": [
                {"type": "object", "required": ["status", "data"], "properties": {
                    "status": {"const": 200}, "message": STR, "data": {"type": "object", "required": ["task_id"],
                                                                       "properties": {"task_id": STR}}}},
                TASK_POLL]}), "TaskError",
            body=_table_form(TASKS, json_too=False, images=("image_file", "image_url", "last_id")),
            description="One of image_file, image_url, last_id. sync=1 answers when the task has ended. "
                        + _price_text(TASKS))},
        "/api/tasks/visual/external/idphoto/{task_id}": {"get": _op(
            "tasks", "Poll a task", _ok_json(TASK_POLL), "TaskError", params=[_path_param("task_id", "from create")])},
        "/api/tasks/results/{name}": {"get": _op(
            "tasks", "Download a result (its URL expires after an hour)", _ok_image("image/jpeg", "image/png"),
            "TaskError", params=[_path_param("name", "token.jpg or token.png")], secure=False, codes=(404, 500))},
        # --- eye masking (linkface-compatible) ---
        "/identity/mask_selfie_image": {"post": _op(
            "mask", "Mask both eyes of a selfie (PNG)", {**_ok_image("image/png"), "headers": {
                "X-Image-Id": {"schema": STR, "description": "the image's id, for selfie_image_id (one hour)"},
                "X-Rotation": {"schema": STR, "description": "clockwise degrees the photo was turned"}}},
            "MaskError", codes=(400, 401, 403, 404, 500, 503, 507),
            body={"required": True, "content": {
                "multipart/form-data": {"schema": _object(MASK, exactly_one=("selfie_file", "selfie_url",
                                                                             "selfie_image_id"))},
                "application/x-www-form-urlencoded": {"schema": _object(
                    MASK, include_images=False, exactly_one=("selfie_url", "selfie_image_id"))}}},
            description="One of selfie_file, selfie_url, selfie_image_id. JPG/BMP/PNG/GIF/TIFF, "
                        "8 px < side <= 4000 px, at most 5 MB. mask_eye defaults to false, as the linkface API has "
                        "it.")},
        # --- matting (picup-compatible) ---
        "/api/v1/matting": {"post": _op("matting", "Cut the person out (PNG bytes)", _ok_image("image/png"),
                                        "MattingError", body=picup_body)},
        "/api/v1/matting2": {"post": _op("matting", "Cut the person out (base64 in JSON)", _ok_json(_picup_ok(
            {"type": "object", "required": ["imageBase64"], "properties": {"imageBase64": STR}})), "MattingError",
            body=picup_body)},
        "/api/v1/mattingAndAnalysis": {"post": _op(
            "matting", "Cut the person out and find 21 body parts per person", _ok_json(_picup_ok(
                {"type": "object", "required": ["bodyAnalysis", "imageBase64"], "properties": {
                    "bodyAnalysis": BODY_ANALYSIS, "imageBase64": STR}})), "MattingError", body=picup_body)},
        # --- service ---
        "/healthz": {"get": _op("service", "Liveness", _ok_json({"type": "object", "required": ["status"],
                                                                  "properties": {"status": {"const": "ok"}}}),
                                "CheckError", secure=False, codes=(500,))},
        "/openapi.json": {"get": _op("service", "This document", _ok_json(OBJ), "CheckError", secure=False,
                                     codes=(500,))},
        "/docs": {"get": _op("service", "API reference page", {"description": "HTML", "content": {
            "text/html": {"schema": STR}}}, "CheckError", secure=False, codes=(500,))},
        "/": {"get": _op("service", "The check-and-fix web page", {"description": "HTML", "content": {
            "text/html": {"schema": STR}}}, "CheckError", secure=False, codes=(500,))},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "idphoto: ID-photo compliance and generation", "version": "1.0",
                 "description": "Checks photos against document specs and repairs what can be repaired. Speaks "
                                "the dialects of five existing APIs (id-photo-verify, HivisionIDPhotos, PicWish "
                                "ID-photo tasks, picup matting, mask_selfie_image eye masking); each family answers "
                                "errors in its own "
                                "envelope. With no API key created the server is open to its own machine only."},
        "paths": paths,
        "components": {
            "schemas": ENVELOPES,
            "securitySchemes": {
                "APIKEY": {"type": "apiKey", "in": "header", "name": "APIKEY"},
                "X-API-KEY": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
                "app_key": {"type": "apiKey", "in": "query", "name": "app_key"},
                "api_id": {"type": "apiKey", "in": "query", "name": "api_id"},
                "api_secret": {"type": "apiKey", "in": "query", "name": "api_secret"},
            },
        },
        "security": [{}, {"APIKEY": []}, {"X-API-KEY": []}, {"app_key": []}, {"api_id": [], "api_secret": []}],
        "tags": [{"name": t, "description": d} for t, d in (
            ("check", "id-photo-verify-compatible: check a photo against a spec"), ("generate", "Spec-driven repair"),
            ("hivision", "HivisionIDPhotos-compatible generation"),
            ("tasks", "PicWish-compatible ID-photo tasks (asynchronous)"),
            ("mask", "mask_selfie_image-compatible eye masking"),
            ("matting", "picup-compatible matting and body analysis"),
            ("service", "Health and documentation"))],
    }
