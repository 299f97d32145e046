"""The ``hosts`` table: each machine from hosts.yaml with its last probed health."""

from __future__ import annotations

import json
from dataclasses import dataclass

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



def save_hosts(store: Store, hosts, now: float) -> None:
    """Store each host's configuration from hosts.yaml, keeping its last probed health."""
    with store.write() as conn:
        for host in hosts:
            conn.execute(
                "INSERT INTO hosts (name, ssh, slots, gpus, roles, home, updated_at)"
                " VALUES (:name, :ssh, :slots, :gpus, :roles, :home, :now)"
                " ON CONFLICT (name) DO UPDATE SET ssh = :ssh, slots = :slots, gpus = :gpus, roles = :roles,"
                " home = :home, updated_at = :now",
                {"name": host.name, "ssh": host.ssh, "slots": host.slots, "gpus": host.gpus,
                 "roles": json.dumps(list(host.roles)), "home": host.home, "now": now})


@dataclass(frozen=True)
class HostRow:
    name: str
    ssh: str
    slots: int
    health: str | None
    last_seen: float | None


def host_rows(store: Store) -> dict[str, HostRow]:
    return {row["name"]: HostRow(row["name"], row["ssh"], row["slots"], row["health"], row["last_seen"])
            for row in store.read("SELECT name, ssh, slots, health, last_seen FROM hosts ORDER BY name")}


def record_transfer(store: Store, *, host: str, direction: str, files: int, size: int, now: float) -> None:
    """Append a ``files_moved`` event: what `status` sums as each host's bytes moved."""
    with store.write() as conn:
        append_event(conn, "files_moved", {"host": host, "direction": direction, "files": files, "bytes": size},
                     at=now)


def bytes_moved(store: Store) -> dict[str, int]:
    """Bytes moved to and from each host, from the ``files_moved`` events still kept."""
    rows = store.read("SELECT json_extract(payload, '$.host') AS host, sum(json_extract(payload, '$.bytes')) AS n"
                      " FROM events WHERE type = 'files_moved' GROUP BY 1")
    return {row["host"]: row["n"] or 0 for row in rows}
