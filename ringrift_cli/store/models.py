"""Trained networks: one row per model file, keyed by the file's sha256.

A model is born ``candidate``; the promotion gate makes it ``best`` (the
previous best becomes ``retired``, its file kept) or ``rejected``. A partial
unique index keeps at most one ``best`` per config, so two promotions racing
cannot both win.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ..errors import UserError
from .db import Store, now

STATUSES = ("candidate", "best", "rejected", "retired")


@dataclass(frozen=True)
class Model:
    id: str
    config_key: str
    artifact_id: int
    parent_id: str | None
    metrics: dict
    status: str
    elo: float | None
    created_at: float
    updated_at: float
    lineage: dict
    evidence: dict
    encoder_version: int | None
    reason: str | None
    job_id: int | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Model":
        values = dict(row)
        for key in ("metrics", "lineage", "evidence"):
            values[key] = json.loads(values[key])
        return cls(**values)


def register_model_in(conn: sqlite3.Connection, *, model_id: str, config_key: str, artifact_id: int,
                      parent_id: str | None, metrics: dict, lineage: dict, encoder_version: int,
                      job_id: int | None, at: float | None = None) -> tuple[Model, bool]:
    """Insert a candidate (or return the existing row of the same file); (model, created)."""
    at = now() if at is None else at
    cursor = conn.execute(
        "INSERT INTO models (id, config_key, artifact_id, parent_id, metrics, lineage, encoder_version, job_id, "
        "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'candidate', ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        (model_id, config_key, artifact_id, parent_id, json.dumps(metrics, sort_keys=True),
         json.dumps(lineage, sort_keys=True), encoder_version, job_id, at, at))
    row = conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()
    return Model.from_row(row), cursor.rowcount == 1


def get_model(store: Store, model_id: str) -> Model | None:
    """The model with this id, or with this unique id prefix."""
    if not model_id or any(ch not in "0123456789abcdef" for ch in model_id.lower()):
        return None
    rows = store.read("SELECT * FROM models WHERE id LIKE ? || '%' LIMIT 2", (model_id.lower(),))
    return Model.from_row(rows[0]) if len(rows) == 1 else None


def find_model(store: Store, model_id: str, config_key: str) -> Model:
    """The model ``model_id`` of ``config_key``; UserError naming the problem otherwise."""
    model = get_model(store, model_id)
    if model is None:
        raise UserError(f"no model {model_id!r} (give a model id or a unique prefix; `ringrift models ls` lists them)")
    if model.config_key != config_key:
        raise UserError(f"model {model.id[:12]} is a {model.config_key} model, not {config_key}")
    return model


def best_model(store: Store, config_key: str) -> Model | None:
    """The current best model of a config, or None before the first promotion."""
    rows = store.read("SELECT * FROM models WHERE config_key = ? AND status = 'best'", (config_key,))
    return Model.from_row(rows[0]) if rows else None


def latest_candidate(store: Store, config_key: str) -> Model | None:
    rows = store.read("SELECT * FROM models WHERE config_key = ? AND status = 'candidate' "
                      "ORDER BY created_at DESC, rowid DESC LIMIT 1", (config_key,))
    return Model.from_row(rows[0]) if rows else None


def list_models(store: Store, config_key: str | None = None) -> list[Model]:
    if config_key is None:
        rows = store.read("SELECT * FROM models ORDER BY config_key, created_at, rowid")
    else:
        rows = store.read("SELECT * FROM models WHERE config_key = ? ORDER BY created_at, rowid", (config_key,))
    return [Model.from_row(row) for row in rows]


def get_model_in(conn: sqlite3.Connection, model_id: str) -> Model:
    return Model.from_row(conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone())


def promote_in(conn: sqlite3.Connection, candidate: Model, expected_best: str | None, evidence: dict,
               at: float | None = None) -> Model | None:
    """Within the caller's transaction: retire the current best and make ``candidate`` best.

    Returns the new row, or None (nothing changed) when the candidate is no longer a
    candidate or the best is no longer ``expected_best`` (another promotion won the race)."""
    current = conn.execute("SELECT id FROM models WHERE config_key = ? AND status = 'best'",
                           (candidate.config_key,)).fetchone()
    row = conn.execute("SELECT status FROM models WHERE id = ?", (candidate.id,)).fetchone()
    if (current["id"] if current else None) != expected_best or row is None or row["status"] != "candidate":
        return None
    at = now() if at is None else at
    if current:
        conn.execute("UPDATE models SET status = 'retired', reason = ?, updated_at = ? WHERE id = ?",
                     (f"replaced by {candidate.id[:12]}", at, current["id"]))
    conn.execute("UPDATE models SET status = 'best', evidence = ?, reason = NULL, updated_at = ? WHERE id = ?",
                 (json.dumps({**evidence, "previous_best": expected_best}, sort_keys=True), at, candidate.id))
    return get_model_in(conn, candidate.id)


def reject_in(conn: sqlite3.Connection, candidate: Model, reason: str, evidence: dict,
              at: float | None = None) -> Model | None:
    """Mark a candidate rejected with its reason; None if it is no longer a candidate."""
    cursor = conn.execute(
        "UPDATE models SET status = 'rejected', reason = ?, evidence = ?, updated_at = ? "
        "WHERE id = ? AND status = 'candidate'",
        (reason, json.dumps(evidence, sort_keys=True), now() if at is None else at, candidate.id))
    return get_model_in(conn, candidate.id) if cursor.rowcount else None


def rollback_in(conn: sqlite3.Connection, config_key: str) -> tuple[Model, Model]:
    """Within the caller's transaction: the best goes back to ``retired`` and the model it
    replaced becomes best again. Returns (restored, demoted); UserError if there is none."""
    row = conn.execute("SELECT * FROM models WHERE config_key = ? AND status = 'best'", (config_key,)).fetchone()
    if row is None:
        raise UserError(f"{config_key} has no best model to roll back")
    current = Model.from_row(row)
    previous_id = current.evidence.get("previous_best")
    if not previous_id:
        raise UserError(f"{config_key}: best model {current.id[:12]} replaced no earlier model; nothing to roll back to")
    at = now()
    conn.execute("UPDATE models SET status = 'retired', reason = 'rolled back', updated_at = ? WHERE id = ?",
                 (at, current.id))
    conn.execute("UPDATE models SET status = 'best', reason = NULL, updated_at = ? WHERE id = ?", (at, previous_id))
    return get_model_in(conn, previous_id), get_model_in(conn, current.id)
