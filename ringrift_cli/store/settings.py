"""Settings stored by ``ringrift config set`` (the highest-precedence source)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .db import Store, now
from .events import append_event


def stored_settings(store: Store) -> dict[str, Any]:
    return {row["key"]: json.loads(row["value"]) for row in store.read("SELECT key, value FROM settings")}


def store_setting(store: Store, key: str, value: Any) -> Any:
    """Store ``value`` (already validated) for ``key``; return the previous stored value or None."""
    with store.write() as conn:
        return store_setting_in(conn, key, value, now())


def store_setting_in(conn: sqlite3.Connection, key: str, value: Any, at: float) -> Any:
    """``store_setting`` inside the caller's transaction (several settings changed together)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    previous = json.loads(row["value"]) if row else None
    conn.execute(
        "INSERT INTO settings (key, value, source, updated_at) VALUES (?, ?, 'cli', ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value), at),
    )
    append_event(conn, "setting_changed", {"key": key, "value": value, "previous": previous}, at=at)
    return previous


def remove_setting(store: Store, key: str) -> bool:
    """Forget the stored value for ``key`` so the YAML value or the default applies again."""
    with store.write() as conn:
        row = conn.execute("DELETE FROM settings WHERE key = ? RETURNING value", (key,)).fetchone()
        if row is None:
            return False
        append_event(conn, "setting_changed",
                     {"key": key, "value": None, "previous": json.loads(row["value"])})
        return True


def setting_updated_at(store: Store, key: str) -> float | None:
    """When ``key`` was last stored by ``config set`` (None if it never was)."""
    rows = store.read("SELECT updated_at FROM settings WHERE key = ?", (key,))
    return rows[0]["updated_at"] if rows else None
