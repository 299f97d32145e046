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
    at = now()
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


def artifacts_not_yet_used(store: Store, config_key: str, kind: str, by_kind: str) -> list[Artifact]:
    """Artifacts of ``kind`` that no artifact of ``by_kind`` lists as an input (e.g. unexported games)."""
    rows = store.read(
        "SELECT a.* FROM artifacts a WHERE a.config_key = ? AND a.kind = ? AND NOT EXISTS ("
        " SELECT 1 FROM artifact_inputs i JOIN artifacts o ON o.id = i.artifact_id"
        " WHERE i.input_id = a.id AND o.kind = ?) ORDER BY a.id",
        (config_key, kind, by_kind),
    )
    return [Artifact.from_row(row) for row in rows]


def artifact_inputs(store: Store, artifact_id: int) -> list[int]:
    rows = store.read("SELECT input_id FROM artifact_inputs WHERE artifact_id = ? ORDER BY input_id", (artifact_id,))
    return [row["input_id"] for row in rows]
