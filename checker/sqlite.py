"""One SQLite file shared by threads and processes: a connection per thread, WAL, and short
write transactions taken with BEGIN IMMEDIATE (so concurrent writers queue instead of failing)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        """One statement on this thread's connection, outside any explicit transaction."""
        return self.connection().execute(sql, params)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
