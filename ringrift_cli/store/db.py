"""Opening the state file, and the one way to write to it.

Every writing transaction starts with ``BEGIN IMMEDIATE``: a deferred
``BEGIN`` that later wants to write can fail with SQLITE_BUSY no matter what
the busy timeout says, which is exactly the race a work-queue cannot afford.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import UserError

BUSY_TIMEOUT_ENV = "RINGRIFT_BUSY_TIMEOUT_MS"
DEFAULT_BUSY_TIMEOUT_MS = 10_000


class StateFileError(UserError):
    """The state file is missing, unreadable, locked, or not ours."""


@dataclass
class Store:
    """An open state file. Pass it to the functions of ``ringrift_cli.store``."""

    path: Path
    conn: sqlite3.Connection

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self) -> "WriteTransaction":
        """A ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error."""
        return WriteTransaction(self)

    def read(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """Run one read-only statement and return all rows."""
        with translate_sqlite_errors(self.path):
            return self.conn.execute(sql, params).fetchall()


class WriteTransaction:
    """``with store.write() as conn:`` -- see Store.write. (A plain class: it runs on every
    queue operation, and a generator-based context manager costs noticeably more.)"""

    __slots__ = ("store",)

    def __init__(self, store: Store):
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        with translate_sqlite_errors(self.store.path):
            self.store.conn.execute("BEGIN IMMEDIATE")
        return self.store.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.store.conn.execute("ROLLBACK")
            return
        with translate_sqlite_errors(self.store.path):
            self.store.conn.execute("COMMIT")


def now() -> float:
    """Seconds since the epoch; every timestamp in the state file uses it."""
    return time.time()


def busy_timeout_ms() -> int:
    raw = os.environ.get(BUSY_TIMEOUT_ENV)
    if raw is None:
        return DEFAULT_BUSY_TIMEOUT_MS
    try:
        return max(0, int(raw))
    except ValueError:
        raise UserError(f"{BUSY_TIMEOUT_ENV} must be a whole number of milliseconds, got {raw!r}")


def connect(path: Path, *, create: bool = False, read_only: bool = False) -> sqlite3.Connection:
    """Open ``path`` with the pragmas the queue relies on (WAL, busy timeout, foreign keys).

    Without ``create`` a missing or empty file is an error rather than a new
    database. The file is checked to be ours before anything is written to it;
    ``read_only`` opens it so that nothing can be.
    """
    if not create and not path.exists():
        raise StateFileError(f"no state file at {path}; run `ringrift init` first (or pass --home)")
    if path.exists() and not path.is_file():
        raise StateFileError(f"{path} is not a file")
    if not create and path.stat().st_size == 0:
        raise StateFileError(f"{path} is an empty file, not a ringrift state file; "
                             "run `ringrift init` to make a state file")
    mode = "ro" if read_only else ("rwc" if create else "rw")
    with translate_sqlite_errors(path):
        # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE).
        conn = sqlite3.connect(f"file:{path.resolve()}?mode={mode}", uri=True, isolation_level=None,
                               timeout=busy_timeout_ms() / 1000)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")
            check_ours(conn, path, empty_ok=create)
            if not read_only:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL survives process crashes without losing commits; only a power
                # loss can drop the last transactions, which the queue then redoes.
                conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
    return conn


def check_ours(conn: sqlite3.Connection, path: Path, *, empty_ok: bool) -> None:
    """Refuse a database ringrift did not make, before anything writes to it (reading the schema
    here also makes "not a database" fail now, with a clear message)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if not tables and version == 0:
        if empty_ok:
            return
        raise StateFileError(f"{path} is an empty database, not a ringrift state file; "
                             "run `ringrift init` to make a state file")
    if not {"migrations", "jobs"} <= tables:
        raise StateFileError(f"{path} is a SQLite file but not a ringrift state file")


@contextmanager
def translate_sqlite_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's errors about the file itself into one clear user-facing line."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        message = str(exc)
        if "locked" in message or "busy" in message:
            raise StateFileError(f"{path} is locked by another process; try again later") from exc
        if "not a database" in message or "malformed" in message:
            raise StateFileError(f"{path} is not a ringrift state file (SQLite says: {message})") from exc
        if "readonly" in message:
            raise StateFileError(f"{path} is read-only here: {message}") from exc
        if "unable to open" in message or "disk I/O" in message or "full" in message:
            raise StateFileError(f"cannot open {path}: {message}") from exc
        raise
