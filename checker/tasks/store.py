"""Task persistence: SQLite (WAL) for the records, files on disk for inputs and results.

A task is written (and its input saved) before the request that created it is answered, so an
accepted task is never lost. Workers claim a task with one atomic UPDATE and hold it by a lease
they renew; a task whose lease ran out (its worker died) goes back to the queue, or fails after
MAX_ATTEMPTS. So a task runs at most once at a time, and survives restarts.

A task's callback is a row of the same database, written in the transaction that ends the task: a
service (any process sharing the folder) claims it atomically, as a task is claimed, posts it, and
records the outcome or the time of the next attempt. So a callback survives restarts too, and once
delivered it is never sent again.

Inputs are kept with the key that sent them (``owner``): another key cannot reuse them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from ..sqlite import Database

# Seed 002's states.
QUEUED, DONE, PREPARING, WAITING, PROCESSING = 0, 1, 2, 3, 4
FAILED, UPLOAD_FAILED, DOWNLOAD_FAILED, TOO_LARGE, INVALID_IMAGE, TIMED_OUT = -1, -2, -3, -5, -7, -8
ACTIVE = (PREPARING, WAITING, PROCESSING)
STATE_DETAIL = {
    QUEUED: "Queued", DONE: "Complete", PREPARING: "Preparing", WAITING: "Waiting", PROCESSING: "Processing",
    FAILED: "Failed", UPLOAD_FAILED: "Upload failed", DOWNLOAD_FAILED: "Download failed", TOO_LARGE: "Too large",
    INVALID_IMAGE: "Invalid image", TIMED_OUT: "Timed out",
}
MAX_ATTEMPTS = 2  # a task whose worker died is run again once, then failed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    state INTEGER NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL,
    image_id TEXT,
    image_url TEXT,
    callback_url TEXT,
    base_url TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    processed_at REAL,
    completed_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until REAL,
    result_token TEXT,
    result_format TEXT,
    sheet_token TEXT,
    result_expires REAL,
    report TEXT,
    callback_status TEXT,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);
CREATE INDEX IF NOT EXISTS tasks_token ON tasks(result_token);
CREATE TABLE IF NOT EXISTS images (
    image_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    expires REAL NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS callbacks (
    task_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_error TEXT,
    worker TEXT,
    lease_until REAL,
    created_at REAL NOT NULL,
    ended_at REAL
);
CREATE INDEX IF NOT EXISTS callbacks_state ON callbacks(state, next_at);
"""
# Columns added after the first release: an older folder gets them when it is opened.
_ADDED_COLUMNS = (("tasks", "owner", "TEXT"), ("images", "owner", "TEXT"))

# A callback's states: waiting for its (next) attempt, being posted (held by ``worker`` until
# ``lease_until``), and the two ends.
CB_PENDING, CB_SENDING, CB_DELIVERED, CB_FAILED = "pending", "sending", "delivered", "failed"
_CB_DUE = ("(state = 'pending' AND next_at + (CASE WHEN attempts = 0 THEN ? ELSE 0 END) <= ?)"
           " OR (state = 'sending' AND lease_until < ?)")


class TaskStore:
    """Tasks in ``root``/tasks.sqlite3, inputs in ``root``/inputs, results in ``root``/results: the
    embedded backend of checker.store.api.Tasks (checker/store/redis_tasks.py is the shared one)."""

    refunds_with_end = False  # the keys are another file: whoever ends a failed task refunds it (work.py)

    def __init__(self, root: str | os.PathLike[str], ttl: float = 3600.0) -> None:
        self.root = Path(root)
        self.where = str(self.root)
        self.ttl = ttl
        self.inputs = self.root / "inputs"
        self.results = self.root / "results"
        for d in (self.root, self.inputs, self.results):
            d.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "tasks.sqlite3"
        self._sql = Database(self.db_path, _SCHEMA, synchronous="NORMAL")
        self._add_columns()

    def _add_columns(self) -> None:
        for table, column, kind in _ADDED_COLUMNS:
            names = {r["name"] for r in self._sql.execute(f"PRAGMA table_info({table})").fetchall()}
            if column in names:
                continue
            try:
                self._sql.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise

    # --- inputs ---------------------------------------------------------------------------------
    def save_input(self, data: bytes, owner: str | None = None) -> str:
        """Keep an input image; its image_id serves seed 002's last_id (and the eye-masking API's
        selfie_image_id) for ``ttl`` seconds, to ``owner`` (a key id; None: anyone, as in open mode)."""
        image_id = str(uuid.uuid4())
        tmp = self.inputs / f".{image_id}.tmp"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, self.inputs / image_id)
            now = time.time()
            with self._sql.transaction() as db:
                db.execute("INSERT INTO images (image_id, created_at, expires, owner) VALUES (?, ?, ?, ?)",
                           (image_id, now, now + self.ttl, owner))
        except BaseException:  # a full disk or read-only folder: no half-written file left behind
            for p in (tmp, self.inputs / image_id):
                with contextlib.suppress(OSError):
                    p.unlink(missing_ok=True)
            raise
        return image_id

    def discard_input(self, image_id: str) -> None:
        """Forget an input kept for a request that then failed (best effort: the sweep removes what
        cannot be removed now)."""
        with contextlib.suppress(OSError):
            (self.inputs / image_id).unlink(missing_ok=True)
        with contextlib.suppress(Exception), self._sql.transaction() as db:
            db.execute("DELETE FROM images WHERE image_id = ?", (image_id,))

    def input_exists(self, image_id: str) -> bool:
        row = self._sql.execute("SELECT expires FROM images WHERE image_id = ?", (image_id,)).fetchone()
        return bool(row) and row["expires"] > time.time() and (self.inputs / image_id).is_file()

    def input_visible(self, image_id: str, key_id: str | None) -> bool:
        """The input is kept and ``key_id`` may use it: it is that key's, or nobody's (open mode).
        Another key's input is as good as missing."""
        row = self._sql.execute("SELECT owner FROM images WHERE image_id = ?", (image_id,)).fetchone()
        return bool(row) and (row["owner"] is None or row["owner"] == key_id) and self.input_exists(image_id)

    def read_input(self, image_id: str) -> bytes:
        return (self.inputs / image_id).read_bytes()

    # --- tasks ----------------------------------------------------------------------------------
    def create(self, params: dict[str, Any], *, image_id: str | None, image_url: str | None,
               callback_url: str | None, base_url: str, owner: str | None = None) -> str:
        """A queued task. ``owner``: the key that made it (the image it downloads will be that key's)."""
        task_id = str(uuid.uuid4())
        with self._sql.transaction() as db:
            db.execute(
                "INSERT INTO tasks (id, state, params, image_id, image_url, callback_url, base_url, created_at,"
                " owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (task_id, QUEUED, json.dumps(params), image_id, image_url, callback_url, base_url, time.time(),
                 owner),
            )
        return task_id

    def get(self, task_id: str) -> dict[str, Any] | None:
        row = self._sql.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return dict(row) if row else None

    def claim(self, task_id: str, worker: str, lease: float) -> bool:
        """Take a queued task (atomically): True when this worker now owns it."""
        now = time.time()
        with self._sql.transaction() as db:
            cur = db.execute(
                "UPDATE tasks SET state = ?, worker = ?, lease_until = ?, attempts = attempts + 1,"
                " processed_at = COALESCE(processed_at, ?) WHERE id = ? AND state = ?",
                (PREPARING, worker, now + lease, now, task_id, QUEUED),
            )
            return cur.rowcount == 1

    def update(self, task_id: str, worker: str, lease: float, **fields: Any) -> bool:
        """Progress or state of an owned task, renewing the lease; False when it is no longer ours."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._sql.transaction() as db:
            cur = db.execute(
                f"UPDATE tasks SET {sets + ', ' if sets else ''}lease_until = ? WHERE id = ? AND worker = ?"
                f" AND state IN ({','.join('?' * len(ACTIVE))})",
                (*fields.values(), time.time() + lease, task_id, worker, *ACTIVE),
            )
            if cur.rowcount == 1 and fields.get("image_id"):
                # The image the task fetched belongs to whoever made the task.
                db.execute("UPDATE images SET owner = (SELECT owner FROM tasks WHERE id = ?)"
                           " WHERE image_id = ? AND owner IS NULL", (task_id, fields["image_id"]))
            return cur.rowcount == 1

    def finish(self, task_id: str, worker: str | None, state: int, message: str = "", **fields: Any) -> bool:
        """End a task (done or failed). With ``worker``, only if that worker still owns it."""
        fields = {"state": state, "message": message, "completed_at": time.time(), "lease_until": None, **fields}
        if state == DONE:
            fields["progress"] = 100
        sets = ", ".join(f"{k} = ?" for k in fields)
        owner = " AND worker = ?" if worker else ""
        with self._sql.transaction() as db:
            cur = db.execute(
                f"UPDATE tasks SET {sets} WHERE id = ?{owner} AND state NOT IN (?, ?, ?, ?, ?, ?, ?)",
                (*fields.values(), task_id, *([worker] if worker else []),
                 DONE, FAILED, UPLOAD_FAILED, DOWNLOAD_FAILED, TOO_LARGE, INVALID_IMAGE, TIMED_OUT),
            )
            if cur.rowcount == 1:
                self._queue_callback(db, task_id)
            return cur.rowcount == 1

    def set_callback_status(self, task_id: str, status: str) -> None:
        with self._sql.transaction() as db:
            db.execute("UPDATE tasks SET callback_status = ? WHERE id = ?", (status, task_id))

    def queued(self) -> list[str]:
        rows = self._sql.execute("SELECT id FROM tasks WHERE state = ? ORDER BY created_at", (QUEUED,)).fetchall()
        return [r["id"] for r in rows]

    def recover(self) -> tuple[list[str], list[str]]:
        """Tasks whose worker died (lease run out): queued again, or failed after MAX_ATTEMPTS.
        Returns the ids queued again and the ids failed."""
        now = time.time()
        active = ",".join("?" * len(ACTIVE))
        with self._sql.transaction() as db:
            rows = db.execute(f"SELECT id, attempts FROM tasks WHERE state IN ({active}) AND lease_until < ?",
                              (*ACTIVE, now)).fetchall()
            again = [r["id"] for r in rows if r["attempts"] < MAX_ATTEMPTS]
            dead = [r["id"] for r in rows if r["attempts"] >= MAX_ATTEMPTS]
            for task_id in again:
                db.execute("UPDATE tasks SET state = ?, progress = 0, worker = NULL, lease_until = NULL"
                           " WHERE id = ?", (QUEUED, task_id))
            for task_id in dead:
                db.execute("UPDATE tasks SET state = ?, message = ?, completed_at = ?, worker = NULL,"
                           " lease_until = NULL WHERE id = ?",
                           (FAILED, "the server stopped while processing this task, twice; it was not finished",
                            now, task_id))
                self._queue_callback(db, task_id)
        return again, dead

    def claim_resend(self, task_id: str, every: float) -> bool:
        """Whether this process may send a queued task to Celery again now. One machine: always (each
        service paces its own resends; a duplicate message only loses its claim)."""
        return True

    # --- callbacks ------------------------------------------------------------------------------
    @staticmethod
    def _queue_callback(db: sqlite3.Connection, task_id: str) -> None:
        """In the transaction that ends a task: its callback, due now (once: one row per task)."""
        now = time.time()
        db.execute("INSERT OR IGNORE INTO callbacks (task_id, url, state, next_at, created_at)"
                   " SELECT id, callback_url, ?, ?, ? FROM tasks"
                   " WHERE id = ? AND callback_url IS NOT NULL AND callback_url != ''",
                   (CB_PENDING, now, now, task_id))

    def callback(self, task_id: str) -> dict[str, Any] | None:
        row = self._sql.execute("SELECT * FROM callbacks WHERE task_id = ?", (task_id,)).fetchone()
        return dict(row) if row else None

    def claim_callback(self, worker: str, lease: float, first_delay: float = 0.0) -> dict[str, Any] | None:
        """Take the callback due first (atomically): pending and due (its first attempt ``first_delay``
        seconds after the task ended), or held by a sender whose lease ran out (it died mid-post).
        The row as claimed, its ``attempts`` counting this one; None when nothing is due."""
        now = time.time()
        with self._sql.transaction() as db:
            row = db.execute(f"SELECT task_id FROM callbacks WHERE {_CB_DUE} ORDER BY next_at LIMIT 1",
                             (first_delay, now, now)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE callbacks SET state = ?, worker = ?, lease_until = ?, attempts = attempts + 1"
                       " WHERE task_id = ?", (CB_SENDING, worker, now + lease, row["task_id"]))
            claimed = db.execute("SELECT * FROM callbacks WHERE task_id = ?", (row["task_id"],)).fetchone()
        return dict(claimed)

    def callback_attempted(self, task_id: str, worker: str, *, delivered: bool, status: str,
                           error: str | None = None, retry_at: float | None = None) -> bool:
        """The outcome of a claimed attempt: delivered, another attempt at ``retry_at``, or failed
        for good (not delivered, no retry_at). ``status`` goes to the task's callback_status. False
        when the claim was no longer this worker's (nothing is changed then)."""
        now = time.time()
        values: tuple[Any, ...]
        if delivered:
            sets, values = "state = ?, ended_at = ?, last_error = NULL", (CB_DELIVERED, now)
        elif retry_at is None:
            sets, values = "state = ?, ended_at = ?, last_error = ?", (CB_FAILED, now, error)
        else:
            sets, values = "state = ?, next_at = ?, last_error = ?", (CB_PENDING, retry_at, error)
        with self._sql.transaction() as db:
            cur = db.execute(f"UPDATE callbacks SET {sets}, worker = NULL, lease_until = NULL"
                             " WHERE task_id = ? AND worker = ? AND state = ?", (*values, task_id, worker, CB_SENDING))
            if cur.rowcount != 1:
                return False
            db.execute("UPDATE tasks SET callback_status = ? WHERE id = ?", (status, task_id))
        return True

    def next_callback_at(self, first_delay: float = 0.0) -> float | None:
        """When the next callback falls due (time.time() scale), None when none waits."""
        row = self._sql.execute(
            "SELECT MIN(CASE WHEN state = 'pending' THEN next_at + (CASE WHEN attempts = 0 THEN ? ELSE 0 END)"
            " ELSE lease_until END) AS due FROM callbacks WHERE state IN ('pending', 'sending')",
            (first_delay,)).fetchone()
        return None if row is None or row["due"] is None else float(row["due"])

    # --- results --------------------------------------------------------------------------------
    def save_result(self, data: bytes, ext: str) -> str:
        """Store a result file under an unguessable token; returns the token."""
        token = secrets.token_urlsafe(24)
        tmp = self.results / f".{token}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.results / f"{token}.{ext}")
        return token

    def result_path(self, name: str) -> Path | None:
        """The file behind ``<token>.<ext>`` while its task's result is still valid."""
        token, _, ext = name.partition(".")
        if not token or not ext or "/" in name or name.startswith("."):
            return None
        row = self._sql.execute(
            "SELECT result_expires FROM tasks WHERE result_token = ? OR sheet_token = ?", (token, token)
        ).fetchone()
        path = self.results / name
        if not row or row["result_expires"] is None or row["result_expires"] <= time.time() or not path.is_file():
            return None
        return path

    def read_result(self, name: str) -> bytes | None:
        """The bytes of ``<token>.<ext>`` while its task's result is valid, else None."""
        path = self.result_path(name)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:  # swept meanwhile
            return None

    def discard_result(self, name: str) -> None:
        """Delete a result file nobody will be given (its task ended otherwise meanwhile)."""
        token, _, ext = name.partition(".")
        if token and ext and "/" not in name and not name.startswith("."):
            (self.results / name).unlink(missing_ok=True)

    def sweep(self) -> int:
        """Delete expired results and inputs; returns how many files went."""
        now = time.time()
        gone = 0
        rows = self._sql.execute(
            "SELECT id, result_token, result_format, sheet_token FROM tasks"
            " WHERE result_expires IS NOT NULL AND result_expires <= ?", (now,)).fetchall()
        for r in rows:
            for token, ext in ((r["result_token"], (r["result_format"] or "jpg")), (r["sheet_token"], "jpg")):
                if token:
                    p = self.results / f"{token}.{ext}"
                    if p.exists():
                        p.unlink()
                        gone += 1
        images = self._sql.execute("SELECT image_id FROM images WHERE expires <= ?", (now,)).fetchall()
        for r in images:
            p = self.inputs / r["image_id"]
            if p.exists():
                p.unlink()
                gone += 1
        with self._sql.transaction() as db:
            db.execute("DELETE FROM images WHERE expires <= ?", (now,))
            db.execute("DELETE FROM callbacks WHERE state IN (?, ?) AND ended_at <= ?",
                       (CB_DELIVERED, CB_FAILED, now - self.ttl))
        return gone
