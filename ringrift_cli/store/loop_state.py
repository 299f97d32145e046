"""What the loop reads and writes: the tick lock, per-config facts, event cursors, tick rows.

Every function takes the time it compares against (``at``) from its caller, so the
loop's thresholds and cool-downs are tested with a fake clock.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from .artifacts import PENDING
from .db import Store
from .events import Event, append_event
from .settings import store_setting_in

# --- the tick lock -------------------------------------------------------------------------

@dataclass(frozen=True)
class Lock:
    name: str
    holder: str
    acquired_at: float
    expires_at: float


def take_lock(store: Store, name: str, holder: str, at: float, ttl: float,
              holder_is_dead=lambda holder: False) -> Lock | None:
    """Take ``name`` for ``holder`` until ``at + ttl``; None if someone else holds it.

    A lock past its expiry, or whose holder ``holder_is_dead`` says has died, is taken over.
    """
    with store.write() as conn:
        row = conn.execute("SELECT * FROM locks WHERE name = ?", (name,)).fetchone()
        if row is not None and row["expires_at"] > at and not holder_is_dead(row["holder"]):
            return None
        conn.execute(
            "INSERT INTO locks (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at,"
            " expires_at = excluded.expires_at",
            (name, holder, at, at + ttl),
        )
        return Lock(name, holder, at, at + ttl)


def current_lock(store: Store, name: str) -> Lock | None:
    rows = store.read("SELECT * FROM locks WHERE name = ?", (name,))
    return Lock(**dict(rows[0])) if rows else None


def drop_lock(store: Store, name: str, holder: str) -> None:
    with store.write() as conn:
        conn.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder))


# --- facts per config ----------------------------------------------------------------------

@dataclass(frozen=True)
class ConfigFacts:
    """Table state of one config key, as the loop's policies need it."""

    config_key: str
    games: int                      # recorded games (quarantined shards excluded)
    unexported_games: int
    oldest_unexported_at: float | None
    newest_games_artifact: int      # 0 when none
    untrained_samples: int          # in NPZ shards newer than every shard a model was trained on
    newest_npz_artifact: int
    selfplay_jobs_ever: int         # selfplay jobs the loop has enqueued for this config (numbers its dedup keys)
    best_model: str | None
    best_since: float | None
    best_rising: bool               # the best model was promoted over an earlier best
    candidates_to_eval: tuple[str, ...]
    candidates_to_promote: tuple[str, ...]


def config_facts(store: Store, config_key: str) -> ConfigFacts:
    # One pass over the config's games shards (the artifacts_kind index): all games that count,
    # and those not yet exported.
    shards = store.read(
        "SELECT coalesce(sum(CASE WHEN f.flag IS NULL OR f.flag != 'quarantined'"
        " THEN json_extract(a.meta, '$.games') END), 0) AS games,"
        f" coalesce(sum(CASE WHEN {PENDING} THEN json_extract(a.meta, '$.games') END), 0) AS pending,"
        f" min(CASE WHEN {PENDING} THEN a.created_at END) AS oldest,"
        " coalesce(max(a.id), 0) AS newest"
        " FROM artifacts a LEFT JOIN artifact_flags f ON f.artifact_id = a.id"
        " WHERE a.config_key = ? AND a.kind = 'games'",
        ("npz", "npz", config_key),
    )[0]
    # NPZ shards newer than the newest one the config's newest model was trained on.
    trained_upto = store.read(
        "SELECT coalesce(max(i.input_id), 0) AS upto FROM artifact_inputs i"
        " WHERE i.artifact_id = (SELECT max(id) FROM artifacts WHERE config_key = ? AND kind = 'model')",
        (config_key,),
    )[0]["upto"]
    npz = store.read(
        "SELECT coalesce(sum(CASE WHEN id > ? THEN json_extract(meta, '$.samples') END), 0) AS untrained,"
        " coalesce(max(id), 0) AS newest FROM artifacts WHERE config_key = ? AND kind = 'npz'",
        (trained_upto, config_key),
    )[0]
    prefix = f"loop:selfplay:{config_key}:"
    # The highest number used so far (not a count: purged jobs leave gaps, and a reused key
    # would be taken for a job that already exists).
    selfplay_ever = store.read(
        "SELECT coalesce(max(CAST(substr(dedup_key, ?) AS INTEGER)) + 1, 0) AS n FROM jobs"
        " WHERE dedup_key >= ? AND dedup_key < ?",
        (len(prefix) + 1, prefix, f"loop:selfplay:{config_key};"),
    )[0]["n"]
    # A best model that displaced an earlier best passed the gate against it: Elo is still rising.
    best = store.read(
        "SELECT id, updated_at, json_extract(evidence, '$.previous_best') IS NOT NULL AS rising FROM models"
        " WHERE config_key = ? AND status = 'best'",
        (config_key,),
    )
    to_eval = store.read(
        "SELECT m.id FROM models m WHERE m.config_key = ? AND m.status = 'candidate'"
        " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dedup_key = 'loop:eval:' || m.id) ORDER BY m.created_at",
        (config_key,),
    )
    to_promote = store.read(
        "SELECT m.id FROM models m JOIN jobs e ON e.dedup_key = 'loop:eval:' || m.id AND e.status = 'done'"
        " WHERE m.config_key = ? AND m.status = 'candidate'"
        " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dedup_key = 'loop:promote:' || m.id) ORDER BY m.created_at",
        (config_key,),
    )
    return ConfigFacts(
        config_key=config_key, games=int(shards["games"]), unexported_games=int(shards["pending"]),
        oldest_unexported_at=shards["oldest"], newest_games_artifact=int(shards["newest"]),
        untrained_samples=int(npz["untrained"]), newest_npz_artifact=int(npz["newest"]),
        selfplay_jobs_ever=int(selfplay_ever),
        best_model=best[0]["id"] if best else None, best_since=best[0]["updated_at"] if best else None,
        best_rising=bool(best[0]["rising"]) if best else False,
        candidates_to_eval=tuple(row["id"] for row in to_eval),
        candidates_to_promote=tuple(row["id"] for row in to_promote),
    )


@dataclass(frozen=True)
class ActiveCount:
    kind: str
    config_key: str
    status: str
    count: int


def active_job_counts(store: Store) -> list[ActiveCount]:
    """Queued and claimed jobs by kind, config and status."""
    rows = store.read(
        "SELECT kind, config_key, status, count(*) AS n FROM jobs WHERE status IN ('queued', 'claimed')"
        " GROUP BY kind, config_key, status"
    )
    return [ActiveCount(row["kind"], row["config_key"], row["status"], row["n"]) for row in rows]


@dataclass(frozen=True)
class FileToDelete:
    artifact_id: int
    config_key: str
    kind: str
    path: str


def expired_games_shards(store: Store, before: float, limit: int) -> list[FileToDelete]:
    """Games shards already exported, created before ``before``, whose file is still kept."""
    rows = store.read(
        "SELECT a.id, a.config_key, a.kind, a.path FROM artifacts a WHERE a.kind = 'games' AND a.created_at < ?"
        " AND json_extract(a.meta, '$.deleted_at') IS NULL"
        " AND EXISTS (SELECT 1 FROM artifact_inputs i JOIN artifacts o ON o.id = i.artifact_id"
        " WHERE i.input_id = a.id AND o.kind = 'npz') ORDER BY a.id LIMIT ?",
        (before, limit),
    )
    return [FileToDelete(row["id"], row["config_key"], row["kind"], row["path"]) for row in rows]


def surplus_retired_models(store: Store, keep: int, limit: int) -> list[FileToDelete]:
    """Model files of retired models beyond the newest ``keep`` per config, still kept on disk."""
    rows = store.read(
        "SELECT a.id, a.config_key, a.kind, a.path FROM ("
        " SELECT m.artifact_id, row_number() OVER (PARTITION BY m.config_key ORDER BY m.updated_at DESC) AS rank"
        " FROM models m WHERE m.status = 'retired') r JOIN artifacts a ON a.id = r.artifact_id"
        " WHERE r.rank > ? AND json_extract(a.meta, '$.deleted_at') IS NULL ORDER BY a.id LIMIT ?",
        (keep, limit),
    )
    return [FileToDelete(row["id"], row["config_key"], row["kind"], row["path"]) for row in rows]


def mark_file_deleted_in(conn: sqlite3.Connection, artifact_id: int, at: float) -> None:
    """The artifact's row stays (lineage); its meta records that the file is gone."""
    conn.execute("UPDATE artifacts SET meta = json_set(meta, '$.deleted_at', ?) WHERE id = ?", (at, artifact_id))


# --- events through a cursor ---------------------------------------------------------------

def cursor_position(store: Store, consumer: str) -> int:
    rows = store.read("SELECT last_event_id FROM event_cursors WHERE consumer = ?", (consumer,))
    return rows[0]["last_event_id"] if rows else 0


def newest_event_id(store: Store) -> int:
    return store.read("SELECT coalesce(max(id), 0) AS id FROM events")[0]["id"]


def events_after(store: Store, event_id: int, types: tuple[str, ...], limit: int) -> tuple[list[Event], int]:
    """Events of ``types`` after ``event_id`` (at most ``limit``), and the id a cursor may move to."""
    newest = newest_event_id(store)
    marks = ",".join("?" * len(types))
    rows = store.read(f"SELECT * FROM events WHERE id > ? AND id <= ? AND type IN ({marks}) ORDER BY id LIMIT ?",
                      (event_id, newest, *types, limit))
    # With the limit reached, the cursor stops at the last event read; the rest come next tick.
    upto = rows[-1]["id"] if len(rows) == limit else max(newest, event_id)
    return [Event.from_row(row) for row in rows], upto


def move_cursor_in(conn: sqlite3.Connection, consumer: str, event_id: int, at: float) -> None:
    conn.execute(
        "INSERT INTO event_cursors (consumer, last_event_id, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (consumer) DO UPDATE SET last_event_id = max(last_event_id, excluded.last_event_id),"
        " updated_at = excluded.updated_at",
        (consumer, event_id, at),
    )




# --- breakers, marks, ticks ----------------------------------------------------------------

def save_breaker_in(conn: sqlite3.Connection, scope: str, state: str, failures: int, last_error: str | None,
                    opened_at: float | None, retry_at: float | None, at: float) -> None:
    conn.execute(
        "INSERT INTO breakers (scope, state, failures, last_error, opened_at, retry_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope) DO UPDATE SET state = excluded.state,"
        " failures = excluded.failures, last_error = excluded.last_error, opened_at = excluded.opened_at,"
        " retry_at = excluded.retry_at, updated_at = excluded.updated_at",
        (scope, state, failures, last_error, opened_at, retry_at, at),
    )


def loop_mark(store: Store, name: str) -> float | None:
    rows = store.read("SELECT at FROM loop_marks WHERE name = ?", (name,))
    return rows[0]["at"] if rows else None


def set_mark_in(conn: sqlite3.Connection, name: str, at: float) -> None:
    conn.execute("INSERT INTO loop_marks (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at",
                 (name, at))


def record_tick_in(conn: sqlite3.Connection, started: float, finished: float, actions: list[dict],
                   errors: list[str]) -> int:
    tick_id = conn.execute(
        "INSERT INTO ticks (started_at, finished_at, actions, errors) VALUES (?, ?, ?, ?) RETURNING id",
        (started, finished, json.dumps(actions, sort_keys=True), json.dumps(errors)),
    ).fetchone()[0]
    append_event(conn, "tick_completed", {"tick_id": tick_id, "actions": len(actions), "errors": len(errors)},
                 at=finished)
    return tick_id


@dataclass(frozen=True)
class TickRow:
    id: int
    started_at: float
    finished_at: float | None
    actions: list
    errors: list


def recent_ticks(store: Store, limit: int) -> list[TickRow]:
    rows = store.read("SELECT * FROM ticks ORDER BY id DESC LIMIT ?", (limit,))
    return [TickRow(row["id"], row["started_at"], row["finished_at"], json.loads(row["actions"]),
                    json.loads(row["errors"])) for row in rows]


def optimize(store: Store) -> None:
    # analysis_limit bounds the rows ANALYZE reads per index, so this stays quick on big tables.
    store.conn.execute("PRAGMA analysis_limit = 1000")
    store.conn.execute("PRAGMA optimize")


def set_halted(store: Store, halted: bool, reason: str, at: float) -> None:
    """Halt or resume the loop: both settings and the event in one commit."""
    with store.write() as conn:
        store_setting_in(conn, "loop.halted", halted, at)
        store_setting_in(conn, "loop.halt_reason", reason, at)
        if halted:
            append_event(conn, "loop_halted", {"reason": reason}, at=at)
        else:
            append_event(conn, "loop_resumed", {}, at=at)
