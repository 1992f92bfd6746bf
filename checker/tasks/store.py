"""Task persistence: SQLite (WAL) for the records, files on disk for inputs and results.

A task is written (and its input saved) before the request that created it is answered, so an
accepted task is never lost. Workers claim a task with one atomic UPDATE and hold it by a lease
they renew; a task whose lease ran out (its worker died) goes back to the queue, or fails after
MAX_ATTEMPTS. So a task runs at most once at a time, and survives restarts.
"""

from __future__ import annotations

import json
import os
import secrets
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
    callback_status TEXT
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);
CREATE INDEX IF NOT EXISTS tasks_token ON tasks(result_token);
CREATE TABLE IF NOT EXISTS images (
    image_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    expires REAL NOT NULL
);
"""


class TaskStore:
    """Tasks in ``root``/tasks.sqlite3, inputs in ``root``/inputs, results in ``root``/results."""

    def __init__(self, root: str | os.PathLike[str], ttl: float = 3600.0) -> None:
        self.root = Path(root)
        self.ttl = ttl
        self.inputs = self.root / "inputs"
        self.results = self.root / "results"
        for d in (self.root, self.inputs, self.results):
            d.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "tasks.sqlite3"
        self._sql = Database(self.db_path, _SCHEMA, synchronous="NORMAL")

    # --- connection -----------------------------------------------------------------------------


    # --- inputs ---------------------------------------------------------------------------------
    def save_input(self, data: bytes) -> str:
        """Keep an input image; its image_id serves seed 002's last_id for ``ttl`` seconds."""
        image_id = str(uuid.uuid4())
        tmp = self.inputs / f".{image_id}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.inputs / image_id)
        now = time.time()
        with self._sql.transaction() as db:
            db.execute("INSERT INTO images VALUES (?, ?, ?)", (image_id, now, now + self.ttl))
        return image_id

    def input_exists(self, image_id: str) -> bool:
        row = self._sql.execute("SELECT expires FROM images WHERE image_id = ?", (image_id,)).fetchone()
        return bool(row) and row["expires"] > time.time() and (self.inputs / image_id).is_file()

    def read_input(self, image_id: str) -> bytes:
        return (self.inputs / image_id).read_bytes()

    # --- tasks ----------------------------------------------------------------------------------
    def create(self, params: dict[str, Any], *, image_id: str | None, image_url: str | None,
               callback_url: str | None, base_url: str) -> str:
        task_id = str(uuid.uuid4())
        with self._sql.transaction() as db:
            db.execute(
                "INSERT INTO tasks (id, state, params, image_id, image_url, callback_url, base_url, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (task_id, QUEUED, json.dumps(params), image_id, image_url, callback_url, base_url, time.time()),
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
        return again, dead

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
        return gone
