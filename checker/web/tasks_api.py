"""Seed 002's asynchronous ID-photo tasks.

POST /api/tasks/visual/external/idphoto     create (image_file | image_url | last_id; sync; callback_url)
GET  /api/tasks/visual/external/idphoto/ID  poll: {status, message, data: {state, progress, image, ...}}
GET  /api/tasks/results/TOKEN.jpg            the result, for one hour

Errors answer ``{status: <http code>, message}``. A task is persisted (with its input) before the
creating request is answered. With the shared store (CHECKER_STORE_URL) the task, its input and its
result live on Redis, so any API server answers the polling and serves the result.
"""

from __future__ import annotations

import io
import json
import re
import threading
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request, send_file

from ..autofix import check_options, options_from_values
from ..errors import CheckerError
from ..imaging import MAX_BYTES
from ..params.generation import TASKS
from ..specs import load_spec
from ..store import open_tasks
from ..tasks.service import TaskService
from ..tasks.settings import config_from
from ..tasks.urls import URLRefused, check_url
from ..tasks.work import BILLING, DEFAULT_SPEC, polling_body
from .auth import authorize, billed, is_loopback
from .envelopes import tasks_error, use
from .inputs import request_params

bp = Blueprint("tasks_api", __name__, url_prefix="/api/tasks")
use(bp, tasks_error)


@bp.before_request
def _authorize() -> None:
    # Result files are reached by their unguessable URL alone, as seed 002's clients download them.
    if request.endpoint != "tasks_api.result_file":
        authorize("tasks")

_SERVICE_LOCK = threading.Lock()


def service(app: Flask | None = None) -> TaskService:
    """This app's task service, built on first use and started (recovery, sweeping)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _SERVICE_LOCK:
        svc = app.extensions.get("idphoto_tasks")
        if svc is None:
            cfg = app.config
            config = config_from(cfg)
            svc = TaskService(open_tasks(cfg, instance=app.instance_path), config,
                              mode=str(cfg.get("TASKS", "threads")), workers=int(cfg.get("TASK_WORKERS", 2)),
                              broker=cfg.get("CELERY_BROKER_URL") or cfg.get("STORE_URL") or None)
            app.extensions["idphoto_tasks"] = svc
    svc.start()
    return svc


@bp.post("/visual/external/idphoto")
def create_task():
    """Create a task; with sync=1 answer once it has ended."""
    params = request_params()
    v = TASKS.parse(params)
    # Refuse bad options now, not in the task: sizes the frame cannot hold included (issue 12).
    check_options(load_spec(v.get("spec_id") or DEFAULT_SPEC), options_from_values(v))
    sync = v["sync"]
    svc = service()
    policy = svc.config.policy
    callback = v.get("callback_url")
    if callback:
        _check(callback, policy, "callback_url")
    image_url, image_id, data = None, None, None
    upload = request.files.get("image_file")
    if upload is not None:
        data = upload.read(MAX_BYTES + 1)
        if not data:
            raise CheckerError("EMPTY_IMAGE", "image_file is empty")
        if len(data) > MAX_BYTES:
            raise CheckerError("IMAGE_FILE_SIZE_TOO_BIG", "image_file is larger than 15 MB")
    elif v.get("image_url"):
        image_url = v["image_url"]
        _check(image_url, policy, "image_url")
    elif v.get("last_id"):
        image_id = v["last_id"]
        if not svc.store.input_visible(image_id, _key_id()):  # another key's image is not there for this one
            raise CheckerError("INVALID_ARGUMENT", "last_id names no image kept here (images are kept for one hour)")
    else:
        raise CheckerError("EMPTY_IMAGE", "send image_file, image_url or last_id")
    kept = {name: value for name, value in params.items()
            if name not in ("sync", "callback_url", "image_url", "last_id", "api_key", "app_key")}
    key = g.get("api_key")
    cost = TASKS.price(v)
    if key is not None:
        # Whose task it is (only that key may poll it) and what to give back if it fails.
        kept[BILLING] = {"key": key.id, "cost": cost if key.credits is not None else 0}
    with billed(cost):  # charged before the upload is kept: a refused request leaves nothing stored
        if data is not None:
            image_id = svc.store.save_input(data, owner=_key_id())
        try:
            task_id = svc.store.create(kept, image_id=image_id, image_url=image_url, callback_url=callback,
                                       base_url=_result_base(), owner=_key_id())
        except Exception:
            if data is not None and image_id is not None:
                svc.store.discard_input(image_id)
            raise
    if sync:
        svc.run_here(task_id)
        task = svc.store.get(task_id)
        if task is None:  # swept between running and answering: nothing to show
            raise CheckerError("NOT_FOUND", f"no task {task_id!r}", http=404)
        return jsonify(polling_body(task))
    svc.submit(task_id)
    return jsonify({"status": 200, "message": "ok", "data": {"task_id": task_id}})


def _key_id() -> str | None:
    """The calling key (None when the server is open): the task and its input are that key's alone."""
    key = g.get("api_key")
    return key.id if key is not None else None


# A Host header that names this machine's loopback: localhost, 127.x.x.x or [::1], maybe with a port.
_HOST = re.compile(r"^(?P<name>localhost|[0-9.]{7,15}|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$", re.IGNORECASE)


def _result_base() -> str:
    """Where a task's result URLs point; never at a Host the client chose.

    PUBLIC_URL (CHECKER_PUBLIC_URL) when it is configured. Otherwise this request's address only when
    its Host names this machine's loopback (a local server, `idphoto serve`'s default); for any other
    Host, nothing: the URLs are then relative to this server (``/api/tasks/results/...``)."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return str(public).rstrip("/") + "/"
    host = request.host
    match = _HOST.match(host)
    if match and (match["name"].lower() == "localhost" or is_loopback(match["name"].strip("[]"))):
        return f"{request.scheme}://{host}{request.root_path}/"
    return ""


def _check(url: str, policy: Any, name: str) -> None:
    try:
        check_url(url, policy)
    except URLRefused as exc:
        raise CheckerError("INVALID_ARGUMENT", f"{name}: {exc}") from exc


@bp.get("/visual/external/idphoto/<task_id>")
def poll_task(task_id: str):
    task = service().store.get(task_id)
    if task is None or not _owned(task):
        raise CheckerError("NOT_FOUND", f"no task {task_id!r}", http=404)
    return jsonify(polling_body(task))


def _owned(task: dict[str, Any]) -> bool:
    """Tasks made with a key are seen only with that key."""
    key = g.get("api_key")
    owner = (json.loads(task["params"]).get(BILLING) or {}).get("key")
    return owner is None or (key is not None and key.id == owner)


@bp.get("/results/<name>")
def result_file(name: str):
    data = service().store.read_result(name)
    if data is None:
        raise CheckerError("NOT_FOUND", "no such result (results are kept for one hour)", http=404)
    mimetype = "image/png" if name.endswith(".png") else "image/jpeg"
    return send_file(io.BytesIO(data), mimetype=mimetype, max_age=0, download_name=name)


def start_tasks(app: Flask) -> None:
    """Called by gunicorn in each worker: resume tasks a previous run left behind."""
    with app.app_context():
        service(app)

