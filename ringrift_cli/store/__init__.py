"""The state file: schema, migrations and the only code in ringrift that writes SQL."""

from __future__ import annotations

from pathlib import Path

from .db import StateFileError, Store, connect
from .migrations import SCHEMA_VERSION, check_not_newer, migrate


def open_store(path: Path, *, read_only: bool = False) -> Store:
    """Open an existing state file, migrating an older schema forward.

    ``read_only`` writes nothing, not even a migration: an older file is then refused.
    Raises StateFileError for a missing, unreadable, locked or foreign file,
    or one written by a newer ringrift.
    """
    conn = connect(path, read_only=read_only)
    try:
        if read_only:
            if check_not_newer(conn, path) != SCHEMA_VERSION:
                raise StateFileError(f"{path} has an older schema; run `ringrift init --home` on it to migrate first")
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
