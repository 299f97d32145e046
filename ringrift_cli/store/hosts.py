"""The ``hosts`` table: each machine from hosts.yaml with its last probed health."""

from __future__ import annotations

import json

from .db import Store
from .events import append_event


def record_health(store: Store, *, name: str, ssh: str, slots: int, gpus: int, roles: tuple[str, ...], home: str,
                  health: str, reason: str | None, reachable: bool, now: float) -> None:
    """Store a host's configuration and health; ``last_seen`` moves only when it answered.

    A change of health appends a ``host_health_changed`` event with its reason, so why a host
    became unusable stays on record without an event per probe.
    """
    with store.write() as conn:
        before = conn.execute("SELECT health FROM hosts WHERE name = ?", (name,)).fetchone()
        conn.execute(
            "INSERT INTO hosts (name, ssh, slots, gpus, roles, home, last_seen, health, updated_at)"
            " VALUES (:name, :ssh, :slots, :gpus, :roles, :home, :seen, :health, :now)"
            " ON CONFLICT (name) DO UPDATE SET ssh = :ssh, slots = :slots, gpus = :gpus, roles = :roles,"
            " home = :home, last_seen = coalesce(:seen, last_seen), health = :health, updated_at = :now",
            {"name": name, "ssh": ssh, "slots": slots, "gpus": gpus, "roles": json.dumps(list(roles)),
             "home": home, "seen": now if reachable else None, "health": health, "now": now},
        )
        if before is None or before["health"] != health:
            append_event(conn, "host_health_changed",
                         {"host": name, "health": health, "previous": before["health"] if before else None,
                          "reason": reason}, at=now)

