"""Selfplay game shards: one SQLite file per selfplay job, ``games/<config>/<shard>.db``.

A game is written in one transaction when it ends, so a kill loses only
the games in flight. Per game: seed, model, search settings, result, and
the initial and final state (so every record can be replayed and checked).
Per move: the move, the player, the visit distribution over policy indices
and the search's value for each seat.

The shard's ``meta`` table names its config key, encoder version and
policy size; readers refuse a shard whose layout differs from theirs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHARD_FORMAT = 1

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS games (
        id INTEGER PRIMARY KEY,
        game_index INTEGER NOT NULL UNIQUE,
        seed INTEGER NOT NULL,
        model TEXT NOT NULL,
        settings TEXT NOT NULL,
        status TEXT NOT NULL,
        winner INTEGER,
        reason TEXT NOT NULL,
        values_json TEXT NOT NULL,
        move_count INTEGER NOT NULL,
        initial_state TEXT NOT NULL,
        final_hash TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS moves (
        game_id INTEGER NOT NULL REFERENCES games(id),
        ply INTEGER NOT NULL,
        player INTEGER NOT NULL,
        move TEXT NOT NULL,
        policy_indices BLOB NOT NULL,
        policy_probs BLOB NOT NULL,
        search_values TEXT NOT NULL,
        searched INTEGER NOT NULL,
        PRIMARY KEY (game_id, ply)
    ) WITHOUT ROWID""",
)


@dataclass(frozen=True)
class MoveRecord:
    ply: int
    player: int
    move: dict            # canonical JSON form of the move
    policy_indices: np.ndarray  # int32, the visit distribution's support
    policy_probs: np.ndarray    # float32, sums to 1
    search_values: list[float]  # per seat, absolute order
    searched: bool        # False when the move was forced (one legal move)


@dataclass(frozen=True)
class GameRecord:
    index: int            # the game's number within its selfplay job; its seed derives from it
    seed: int
    model: str
    settings: dict
    status: str           # 'completed' or 'capped'
    winner: int | None
    reason: str
    values: list[float]   # final value per seat (absolute order): the value targets
    initial_state: dict
    final_hash: str
    moves: list[MoveRecord]
    id: int | None = None


class ShardFormatError(ValueError):
    """A shard that is corrupt, truncated, or of another layout."""


def open_shard(path: Path, meta: dict | None = None) -> sqlite3.Connection:
    """Open (creating if needed) a shard for writing; ``meta`` is recorded on creation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for statement in SCHEMA:
        conn.execute(statement)
    if meta is not None:
        conn.execute("BEGIN IMMEDIATE")
        for key, value in {**meta, "format": SHARD_FORMAT}.items():
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
        conn.execute("COMMIT")
    return conn


def shard_meta(conn: sqlite3.Connection) -> dict:
    return {key: json.loads(value) for key, value in conn.execute("SELECT key, value FROM meta")}


def write_game(conn: sqlite3.Connection, game: GameRecord, at: float) -> int:
    """Append one finished game and its moves in a single transaction; return its id."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        game_id = conn.execute(
            "INSERT INTO games (game_index, seed, model, settings, status, winner, reason, values_json, move_count,"
            " initial_state, final_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (game.index, game.seed, game.model, json.dumps(game.settings, sort_keys=True), game.status, game.winner,
             game.reason, json.dumps(game.values), len(game.moves), json.dumps(game.initial_state),
             game.final_hash, at),
        ).lastrowid
        conn.executemany(
            "INSERT INTO moves (game_id, ply, player, move, policy_indices, policy_probs, search_values, searched)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(game_id, m.ply, m.player, json.dumps(m.move), np.asarray(m.policy_indices, dtype="<i4").tobytes(),
              np.asarray(m.policy_probs, dtype="<f4").tobytes(), json.dumps(m.search_values), int(m.searched))
             for m in game.moves],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return game_id


def recorded_indices(conn: sqlite3.Connection) -> set[int]:
    return {row[0] for row in conn.execute("SELECT game_index FROM games")}


def count_games(conn: sqlite3.Connection) -> tuple[int, int]:
    """(games, moves) in the shard."""
    games, moves = conn.execute("SELECT count(*), coalesce(sum(move_count), 0) FROM games").fetchone()
    return games, moves


def finish_shard(conn: sqlite3.Connection, wait_seconds: float = 30.0) -> None:
    """Fold the WAL into the file and close it, so the single file is the whole shard.

    Leaving WAL mode needs the file to itself, and SQLite refuses at once, without waiting, while any
    other connection has it open (a script counting the games, say). So the change is tried again
    for up to ``wait_seconds``. The connection is closed whatever happens: one left open by a failed
    attempt would refuse every later attempt of the job in the same process."""
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode = DELETE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
    finally:
        conn.close()


def read_games(path: Path) -> tuple[dict, list[GameRecord]]:
    """Every game of a finished shard with its moves, in game index order (the same whatever the number
    of processes that played them); ShardFormatError if it cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = shard_meta(conn)
            games = {}
            for row in conn.execute("SELECT * FROM games ORDER BY game_index"):
                (gid, index, seed, model, settings, status, winner, reason, values, _count, initial, final_hash,
                 _at) = row
                games[gid] = GameRecord(index, seed, model, json.loads(settings), status, winner, reason, json.loads(values),
                                        json.loads(initial), final_hash, [], gid)
            for gid, ply, player, move, indices, probs, values, searched in conn.execute(
                "SELECT * FROM moves ORDER BY game_id, ply"
            ):
                games[gid].moves.append(MoveRecord(ply, player, json.loads(move), np.frombuffer(indices, dtype="<i4"),
                                                   np.frombuffer(probs, dtype="<f4"), json.loads(values), bool(searched)))
        finally:
            conn.close()
    except (sqlite3.DatabaseError, KeyError, ValueError) as exc:
        raise ShardFormatError(f"cannot read games shard {path}: {exc}") from None
    return meta, list(games.values())
