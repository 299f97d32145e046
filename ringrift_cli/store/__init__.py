"""The state file: schema, migrations and the only code in ringrift that writes SQL."""

from __future__ import annotations

from pathlib import Path

from .db import StateFileError, Store, connect
from .migrations import SCHEMA_VERSION, migrate


def open_store(path: Path) -> Store:
    """Open an existing state file, migrating an older schema forward.

    Raises StateFileError for a missing, unreadable, locked or foreign file,
    or one written by a newer ringrift.
    """
    conn = connect(path)
    try:
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return Store(path=path, conn=conn)


def create_store(path: Path) -> tuple[Store, list[int]]:
    """Create (or open) the state file at ``path``; return it and the migrations applied."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path, create=True)
    try:
        applied = migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return Store(path=path, conn=conn), applied


__all__ = ["SCHEMA_VERSION", "StateFileError", "Store", "create_store", "open_store"]
