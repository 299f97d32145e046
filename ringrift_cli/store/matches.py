"""Finished evaluation games, one row each, append-only.

Ratings and the promotion gate are computed from these rows, never kept as
running totals. ``(job_id, game_index)`` is unique: a resumed evaluation job
cannot record a game twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from .db import Store, now


@dataclass(frozen=True)
class Match:
    id: int
    config_key: str
    job_id: int
    game_index: int
    players: tuple[str, ...]  # participant in each seat (model id, 'random' or 'heuristic')
    ranks: tuple[int, ...]  # finishing rank of each seat, 1 = first; equal ranks are a draw
    seed: int
    simulations: int
    moves: int
    status: str
    created_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Match":
        values = dict(row)
        values["players"] = tuple(json.loads(values["players"]))
        values["ranks"] = tuple(json.loads(values["ranks"]))
        return cls(**values)


def record_match_in(conn: sqlite3.Connection, *, config_key: str, job_id: int, game_index: int,
                    players: list[str], ranks: list[int], seed: int, simulations: int, moves: int,
                    status: str) -> bool:
    """Append one finished game; False (nothing written) if this job already recorded it."""
    cursor = conn.execute(
        "INSERT INTO matches (config_key, job_id, game_index, players, ranks, seed, simulations, moves, status, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, game_index) DO NOTHING",
        (config_key, job_id, game_index, json.dumps(list(players)), json.dumps(list(ranks)), seed, simulations,
         moves, status, now()))
    return cursor.rowcount == 1


def matches_for(store: Store, config_key: str, job_id: int | None = None) -> list[Match]:
    if job_id is None:
        rows = store.read("SELECT * FROM matches WHERE config_key = ? ORDER BY id", (config_key,))
    else:
        rows = store.read("SELECT * FROM matches WHERE config_key = ? AND job_id = ? ORDER BY id", (config_key, job_id))
    return [Match.from_row(row) for row in rows]


def matches_in(conn: sqlite3.Connection, config_key: str) -> list[Match]:
    """Within the caller's transaction: every recorded game of a config, in the order recorded."""
    rows = conn.execute("SELECT * FROM matches WHERE config_key = ? ORDER BY id", (config_key,)).fetchall()
    return [Match.from_row(row) for row in rows]


def recorded_game_indices(store: Store, job_id: int) -> set[int]:
    return {row[0] for row in store.read("SELECT game_index FROM matches WHERE job_id = ?", (job_id,))}
