"""Settings stored by ``ringrift config set`` (the highest-precedence source)."""

from __future__ import annotations

import json
from typing import Any

from .db import Store, now
from .events import append_event


def stored_settings(store: Store) -> dict[str, Any]:
    return {row["key"]: json.loads(row["value"]) for row in store.read("SELECT key, value FROM settings")}


def store_setting(store: Store, key: str, value: Any) -> Any:
    """Store ``value`` (already validated) for ``key``; return the previous stored value or None."""
    with store.write() as conn:
        row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        previous = json.loads(row["value"]) if row else None
        conn.execute(
            "INSERT INTO settings (key, value, source, updated_at) VALUES (?, ?, 'cli', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, json.dumps(value), now()),
        )
        append_event(conn, "setting_changed", {"key": key, "value": value, "previous": previous})
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
