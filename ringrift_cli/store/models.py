"""Trained networks: one row per model file, keyed by the file's sha256."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from .db import Store


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

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Model":
        values = dict(row)
        values["metrics"] = json.loads(values["metrics"])
        return cls(**values)


def get_model(store: Store, model_id: str) -> Model | None:
    """The model with this id, or with this unique id prefix."""
    rows = store.read("SELECT * FROM models WHERE id LIKE ? || '%' LIMIT 2", (model_id,))
    return Model.from_row(rows[0]) if len(rows) == 1 else None


def promoted_model(store: Store, config_key: str) -> Model | None:
    """The current best model of a config (the most recently promoted), or None before the first."""
    rows = store.read(
        "SELECT * FROM models WHERE config_key = ? AND status = 'promoted' ORDER BY updated_at DESC LIMIT 1",
        (config_key,),
    )
    return Model.from_row(rows[0]) if rows else None
