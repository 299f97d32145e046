"""The append-only event log, with one payload schema per event type.

A payload is checked on write: every field of its type present with the
right Python type, and nothing else. Consumers (the loop) can therefore read
``payload["games"]`` without guessing whether some writer called it
``num_games``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from .db import Store, now

OptionalStr = (str, type(None))
OptionalFloat = (float, int, type(None))
Number = (float, int)

# The only place an event type and its payload fields are defined.
EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "job_enqueued": {"kind": str, "priority": int, "dedup_key": OptionalStr},
    "job_claimed": {"kind": str, "worker": str, "attempt": int, "lease_until": Number},
    "job_completed": {"kind": str, "worker": str, "attempt": int, "result": (dict, type(None))},
    # next_status is 'queued' (retried after not_before) or 'dead' (attempts used up).
    "job_failed": {"kind": str, "worker": str, "attempt": int, "error": str,
                   "next_status": str, "not_before": OptionalFloat},
    "job_lease_expired": {"kind": str, "worker": OptionalStr, "attempt": int,
                          "next_status": str, "not_before": OptionalFloat},
    "job_released": {"kind": str, "worker": str, "reason": str},
    "job_retried": {"kind": str, "previous_status": str},
    "job_cancelled": {"kind": str, "previous_status": str},
    "jobs_purged": {"statuses": list, "older_than_seconds": Number, "count": int},
    "setting_changed": {"key": str, "value": object, "previous": object},
    "artifact_registered": {"artifact_id": int, "kind": str, "path": str, "sha256": str, "bytes": int},
    "artifact_flagged": {"artifact_id": int, "path": str, "flag": str, "reason": str},
    "games_recorded": {"artifact_id": int, "path": str, "games": int, "moves": int},
    "npz_exported": {"artifact_id": int, "path": str, "samples": int, "games": int, "inputs": list},
    "model_trained": {"model_id": str, "path": str, "parent_id": OptionalStr, "samples": int, "metrics": dict},
    "eval_completed": {"model_id": str, "games": int, "scores": dict},
    "model_promoted": {"model_id": str, "previous_best": OptionalStr, "evidence": dict},
    "model_rejected": {"model_id": str, "reason": str, "evidence": dict},
    "model_rolled_back": {"model_id": str, "restored": str},
    "breaker_opened": {"scope": str, "failures": int, "retry_at": Number, "error": OptionalStr},
    "breaker_closed": {"scope": str},
    "breaker_half_open": {"scope": str},
    "tick_completed": {"tick_id": int, "actions": int, "errors": int},
    "loop_halted": {"reason": str},
    "loop_resumed": {},
    "artifact_file_deleted": {"artifact_id": int, "kind": str, "path": str, "reason": str},
    "host_health_changed": {"host": str, "health": str, "previous": OptionalStr, "reason": OptionalStr},
    "run_dispatched": {"kind": str, "host": str, "files_sent": int, "bytes": int},
    # A run's report or outputs that were not trusted: nothing of it is registered.
    "run_refused": {"kind": str, "host": str, "reason": str},
    "files_moved": {"host": str, "direction": str, "files": int, "bytes": int},
    # Runs a host no longer needed: stale ones stopped, folders of finished jobs removed.
    "runs_tidied": {"host": str, "stopped": list, "removed": list},
}


class EventSchemaError(ValueError):
    """A payload that does not match its event type's schema (a bug in the writer)."""


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    config_key: str | None
    payload: dict
    job_id: int | None
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Event":
        return cls(row["id"], row["type"], row["config_key"], json.loads(row["payload"]),
                   row["job_id"], row["created_at"])


def check_payload(event_type: str, payload: dict) -> None:
    """Raise EventSchemaError unless ``payload`` fits the schema of ``event_type`` exactly."""
    schema = EVENT_SCHEMAS.get(event_type)
    if schema is None:
        raise EventSchemaError(f"unknown event type {event_type!r}")
    missing = schema.keys() - payload.keys()
    extra = payload.keys() - schema.keys()
    if missing or extra:
        raise EventSchemaError(
            f"{event_type} payload: missing {sorted(missing)}, unexpected {sorted(extra)}"
        )
    for field, expected in schema.items():
        value = payload[field]
        # bool is an int in Python; a flag where a count belongs is still a bug.
        if isinstance(value, bool) and expected in (int, Number):
            raise EventSchemaError(f"{event_type}.{field}: expected {expected}, got bool")
        if not isinstance(value, expected):
            raise EventSchemaError(
                f"{event_type}.{field}: expected {expected}, got {type(value).__name__}"
            )


def append_event(
    conn: sqlite3.Connection,
    event_type: str,
    payload: dict,
    *,
    config_key: str | None = None,
    job_id: int | None = None,
    dedup_key: str | None = None,
    at: float | None = None,
) -> int | None:
    """Append one event inside the caller's write transaction; return its id.

    With a ``dedup_key`` already present nothing is written and None is returned.
    """
    check_payload(event_type, payload)
    cursor = conn.execute(
        "INSERT INTO events (type, config_key, payload, job_id, dedup_key, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING",
        (event_type, config_key, json.dumps(payload, sort_keys=True), job_id, dedup_key,
         now() if at is None else at),
    )
    return cursor.lastrowid if cursor.rowcount else None


def recent_events(store: Store, limit: int = 10, event_type: str | None = None) -> list[Event]:
    """The newest events first."""
    if event_type is None:
        rows = store.read("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = store.read(
            "SELECT * FROM events WHERE type = ? ORDER BY id DESC LIMIT ?", (event_type, limit)
        )
    return [Event.from_row(row) for row in rows]


def events_for_job(store: Store, job_id: int) -> list[Event]:
    rows = store.read("SELECT * FROM events WHERE job_id = ? ORDER BY id", (job_id,))
    return [Event.from_row(row) for row in rows]


def prune_events(store: Store, older_than_seconds: float) -> int:
    """Delete events older than the given age that every event cursor has passed; return how many."""
    with store.write() as conn:
        return prune_passed_events_in(conn, now() - older_than_seconds)


def prune_passed_events_in(conn: sqlite3.Connection, older_than: float) -> int:
    """Delete events created before ``older_than`` that every cursor (a consumer such as the loop)
    has passed, all of them when there is no cursor. The newest event always stays, so ids keep
    growing and a cursor (the last id it read) never points past a reused id."""
    return conn.execute(
        "DELETE FROM events WHERE created_at < ?"
        " AND id <= (SELECT coalesce(min(last_event_id), (SELECT max(id) FROM events)) FROM event_cursors)"
        " AND id < (SELECT max(id) FROM events)",
        (older_than,),
    ).rowcount
