"""One SQLite file shared by threads and processes: a connection per thread, WAL, and short
write transactions taken with BEGIN IMMEDIATE (so concurrent writers queue instead of failing).

A connection that failed because the file could not be written (read-only, full, I/O error) is
dropped, and the thread's next statement opens a fresh one: SQLite opens a file it may not write
read-only and keeps it so, so a connection opened while the folder was read-only would otherwise
refuse every write until the process restarts."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import sqlite_fault


class Database:
    def __init__(self, path: str | Path, schema: str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous  # NORMAL: faster, may lose the last commits on power loss
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.connection().executescript(schema)  # executescript manages its own transaction

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; rows by column name)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def reset(self) -> None:
        """Close this thread's connection; the next statement opens a new one."""
        db = getattr(self._local, "db", None)
        self._local.db = None
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """One statement on this thread's connection, outside any explicit transaction."""
        try:
            return self.connection().execute(sql, params)
        except sqlite3.Error as exc:
            if sqlite_fault(exc):
                self.reset()
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        db = self.connection()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    try:
                        db.execute("ROLLBACK")
                    except sqlite3.Error:  # keep the first error; the connection is dropped below
                        self.reset()
                raise
        except sqlite3.Error as exc:
            if sqlite_fault(exc):
                self.reset()
            raise
