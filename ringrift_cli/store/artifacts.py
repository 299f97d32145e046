"""The artifact registry: every file the pipeline made, with its sha256 and lineage.

A file is registered only once it is complete (renamed from its temporary
name) and hashed; nothing may depend on an unregistered file. Registering
the same (host, path) again with the same sha256 is a no-op, with a
different one an error: files are never silently replaced.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ..errors import UserError
from .db import Store, now
from .events import append_event

KINDS = ("games", "npz", "model", "log")


@dataclass(frozen=True)
class Artifact:
    id: int
    kind: str
    config_key: str
    path: str
    host: str
    sha256: str
    bytes: int
    meta: dict
    job_id: int | None
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Artifact":
        values = dict(row)
        values["meta"] = json.loads(values["meta"])
        return cls(**values)


class ArtifactConflict(UserError):
    """A path already registered with different content."""


def register_artifact_in(
    conn: sqlite3.Connection, *, kind: str, config_key: str, path: str, sha256: str, size: int,
    meta: dict | None = None, job_id: int | None = None, inputs: tuple[int, ...] = (), host: str = "local",
    at: float | None = None,
) -> tuple[Artifact, bool]:
    """Register a finished file inside the caller's transaction; return it and whether it is new."""
    if kind not in KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}")
    row = conn.execute("SELECT * FROM artifacts WHERE host = ? AND path = ?", (host, path)).fetchone()
    if row is not None:
        existing = Artifact.from_row(row)
        if existing.sha256 != sha256:
            raise ArtifactConflict(
                f"{host}:{path} is already registered with sha256 {existing.sha256[:12]}…, not {sha256[:12]}…"
            )
        return existing, False
    at = now() if at is None else at
    row = conn.execute(
        "INSERT INTO artifacts (kind, config_key, path, host, sha256, bytes, meta, job_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (kind, config_key, path, host, sha256, size, json.dumps(meta or {}, sort_keys=True), job_id, at),
    ).fetchone()
    artifact = Artifact.from_row(row)
    conn.executemany(
        "INSERT INTO artifact_inputs (artifact_id, input_id) VALUES (?, ?)",
        [(artifact.id, input_id) for input_id in inputs],
    )
    append_event(conn, "artifact_registered",
                 {"artifact_id": artifact.id, "kind": kind, "path": path, "sha256": sha256, "bytes": size},
                 config_key=config_key, job_id=job_id, at=at)
    return artifact, True


def get_artifact(store: Store, artifact_id: int) -> Artifact:
    row = store.conn.execute("SELECT * FROM artifacts WHERE id = ?", (artifact_id,)).fetchone()
    if row is None:
        raise UserError(f"no artifact {artifact_id}")
    return Artifact.from_row(row)


def list_artifacts(store: Store, config_key: str, kind: str) -> list[Artifact]:
    rows = store.read(
        "SELECT * FROM artifacts WHERE config_key = ? AND kind = ? ORDER BY id", (config_key, kind)
    )
    return [Artifact.from_row(row) for row in rows]


# An artifact is pending for a consumer kind while no artifact of that kind lists it as an
# input and no stage has set it aside (artifact_flags).
PENDING = ("NOT EXISTS (SELECT 1 FROM artifact_inputs i JOIN artifacts o ON o.id = i.artifact_id"
           " WHERE i.input_id = a.id AND o.kind = ?)"
           " AND NOT EXISTS (SELECT 1 FROM artifact_flags f WHERE f.artifact_id = a.id)")


def artifacts_not_yet_used(store: Store, config_key: str, kind: str, by_kind: str) -> list[Artifact]:
    """Artifacts of ``kind`` that no artifact of ``by_kind`` lists as an input and that are not
    set aside (e.g. games not yet exported)."""
    rows = store.read(
        f"SELECT a.* FROM artifacts a WHERE a.config_key = ? AND a.kind = ? AND {PENDING} ORDER BY a.id",
        (config_key, kind, by_kind),
    )
    return [Artifact.from_row(row) for row in rows]


def still_pending_in(conn: sqlite3.Connection, artifact_ids: list[int], by_kind: str) -> bool:
    """Inside the caller's transaction: whether none of ``artifact_ids`` was consumed or set aside
    meanwhile (by a concurrent stage run)."""
    if not artifact_ids:
        return True
    marks = ",".join("?" * len(artifact_ids))
    pending = conn.execute(
        f"SELECT count(*) FROM artifacts a WHERE a.id IN ({marks}) AND {PENDING}", (*artifact_ids, by_kind)
    ).fetchone()[0]
    return pending == len(set(artifact_ids))


def flag_artifact_in(conn: sqlite3.Connection, artifact: Artifact, flag: str, reason: str,
                     job_id: int | None) -> None:
    """Set an artifact aside for good (quarantined, other encoder, nothing exportable) with an event."""
    at = now()
    conn.execute(
        "INSERT INTO artifact_flags (artifact_id, flag, reason, job_id, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (artifact_id) DO NOTHING",
        (artifact.id, flag, reason, job_id, at),
    )
    append_event(conn, "artifact_flagged", {"artifact_id": artifact.id, "path": artifact.path, "flag": flag,
                                            "reason": reason}, config_key=artifact.config_key, job_id=job_id, at=at)


def artifact_inputs(store: Store, artifact_id: int) -> list[int]:
    rows = store.read("SELECT input_id FROM artifact_inputs WHERE artifact_id = ? ORDER BY input_id", (artifact_id,))
    return [row["input_id"] for row in rows]


def unquarantined_artifacts(store: Store, config_key: str | None = None, kind: str | None = None) -> list[Artifact]:
    """Registered artifacts not set aside as quarantined (of one config and kind when given), oldest first."""
    rows = store.read("SELECT a.* FROM artifacts a WHERE (? IS NULL OR a.config_key = ?) AND (? IS NULL OR a.kind = ?)"
                      " AND NOT EXISTS (SELECT 1 FROM artifact_flags f WHERE f.artifact_id = a.id"
                      " AND f.flag = 'quarantined') ORDER BY a.id", (config_key, config_key, kind, kind))
    return [Artifact.from_row(row) for row in rows]


def quarantine(store: Store, artifact: Artifact, reason: str, job_id: int | None) -> None:
    """Set ``artifact`` aside for good as quarantined (replacing a milder flag such as no_samples)."""
    with store.write() as conn:
        conn.execute("DELETE FROM artifact_flags WHERE artifact_id = ? AND flag != 'quarantined'", (artifact.id,))
        flag_artifact_in(conn, artifact, "quarantined", reason, job_id)


def known_sha256(store: Store, digests: list[str]) -> set[str]:
    """Those of ``digests`` that some registered artifact has (on any host)."""
    found = set()
    for start in range(0, len(digests), 500):
        chunk = digests[start:start + 500]
        marks = ",".join("?" * len(chunk))
        found |= {row["sha256"] for row in store.read(f"SELECT sha256 FROM artifacts WHERE sha256 IN ({marks})",
                                                      tuple(chunk))}
    return found
