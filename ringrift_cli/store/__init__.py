"""The state file: schema, migrations and the only code in ringrift that writes SQL."""

from __future__ import annotations

from pathlib import Path

from .db import StateFileError, Store, connect
from .migrations import SCHEMA_VERSION, check_current, migrate


def open_store(path: Path, *, read_only: bool = False) -> Store:
    """Open an existing state file, migrating an older schema forward (``read_only``: refusing one
    that would need it, since a read-only open changes nothing).

    Raises StateFileError for a missing, empty, unreadable, locked or foreign file,
    or one written by a newer ringrift.
    """
    conn = connect(path, read_only=read_only)
    try:
        if read_only:
            check_current(conn, path)
        else:
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
