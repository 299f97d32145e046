"""What export makes of one games shard: its games checked by replaying them, then one training
sample per recorded move (features from the side to move, the search's visit distribution, the
game's per-seat result as targets). Files only: the run step of an export uses it on any machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import sha256_of
from ..store.game_records import GameRecord, ShardFormatError, read_games


@dataclass
class SampleBuffer:
    """Samples collected so far, and which games (by artifact) they came from."""

    features: list = field(default_factory=list)
    globals: list = field(default_factory=list)
    policy_indices: list = field(default_factory=list)
    policy_probs: list = field(default_factory=list)
    values: list = field(default_factory=list)
    game_ids: list = field(default_factory=list)
    move_numbers: list = field(default_factory=list)
    searched: list = field(default_factory=list)
    policy_weight: list = field(default_factory=list)
    games: dict = field(default_factory=dict)  # artifact id -> [first game id, last game id, count]

    def __len__(self) -> int:
        return len(self.features)


@dataclass(frozen=True)
class GamesInput:
    """A games shard the export was planned to read: its registered id, file and sha256."""

    artifact_id: int
    path: Path
    sha256: str


@dataclass(frozen=True)
class SetAside:
    """A games shard export will not read again, and why (flag: quarantined, other_encoder, no_samples)."""

    artifact_id: int
    flag: str
    reason: str


def readable_games(shard: GamesInput, config_key: str, encoder_version: int,
                   flagged: list[SetAside]) -> list[GameRecord] | None:
    """The shard's games if it is intact, of our encoder, and every completed game replays to its
    recorded end; otherwise None, with the reason added to ``flagged``."""
    def set_aside(flag: str, reason: str) -> None:
        flagged.append(SetAside(shard.artifact_id, flag, reason))

    if not shard.path.is_file() or sha256_of(shard.path) != shard.sha256:
        set_aside("quarantined", "missing or does not match its registered sha256")
        return None
    try:
        meta, games = read_games(shard.path)
    except Exception as exc:  # any content the reader cannot make sense of: set aside, never retried
        reason = str(exc) if isinstance(exc, ShardFormatError) else f"unreadable content: {type(exc).__name__}: {exc}"
        set_aside("quarantined", reason[:300])
        return None
    if meta.get("config_key") != config_key:
        set_aside("quarantined", f"holds {meta.get('config_key')} games, not {config_key}")
        return None
    if meta.get("encoder_version") != encoder_version:
        # Its visit distributions are over another policy layout: never mixed in, kept for the record.
        set_aside("other_encoder", f"recorded with encoder {meta.get('encoder_version')}")
        return None
    for game in games:
        try:
            mismatch = replay_mismatch(game)
        except Exception as exc:  # e.g. an initial state the engine cannot load
            mismatch = f"cannot be replayed: {type(exc).__name__}: {str(exc)[:200]}"
        if mismatch is not None:
            set_aside("quarantined", f"game {game.id}: {mismatch}")
            return None
    return games


def replay_mismatch(game: GameRecord) -> str | None:
    """Why ``game`` does not replay to its recorded end, or None if it does."""
    from ..game import apply_move_inplace, move_from_json, state_from_json

    state = state_from_json(game.initial_state)
    for record in game.moves:
        if record.player != state.current:
            return f"ply {record.ply}: recorded player {record.player}, the engine says {state.current} is to move"
        try:
            apply_move_inplace(state, move_from_json(record.move, state.board), validate=True, undo=False)
        except Exception as exc:  # any engine complaint means the record is not ours to trust
            return f"ply {record.ply}: recorded move is illegal ({exc})"
    if f"{state.state_hash():016x}" != game.final_hash:
        return "the replay does not reach the recorded final position"
    if state.is_over() != (game.status == "completed"):
        return f"recorded as {game.status} but the replay {'ends' if state.is_over() else 'does not end'} the game"
    return None


@dataclass(frozen=True)
class SampleTargets:
    """How targets are built: the policy weight of a forced move, the search value's share of the value."""

    forced_policy_weight: float = 0.0
    value_blend: float = 0.0


def add_game_samples(buffer: SampleBuffer, artifact_id: int, game: GameRecord,
                     targets: SampleTargets = SampleTargets()) -> None:
    """Append one sample per recorded move of a game that ``replay_mismatch`` accepted."""
    from ..ai.encoding import encode_state
    from ..game import apply_move_inplace, move_from_json, state_from_json

    state = state_from_json(game.initial_state)
    n = state.n
    for record in game.moves:
        planes, globals_ = encode_state(state)
        buffer.features.append(planes)
        buffer.globals.append(globals_)
        buffer.policy_indices.append(np.asarray(record.policy_indices, dtype=np.int32))
        buffer.policy_probs.append(np.asarray(record.policy_probs, dtype=np.float32))
        mover = state.current
        values = game.values
        if record.searched and record.search_values and targets.value_blend:
            share = targets.value_blend
            values = [(1 - share) * v + share * s for v, s in zip(game.values, record.search_values)]
        buffer.values.append([values[(mover - 1 + k) % n] for k in range(n)])
        buffer.searched.append(record.searched)
        buffer.policy_weight.append(1.0 if record.searched else targets.forced_policy_weight)
        buffer.game_ids.append((artifact_id << 32) | game.id)
        buffer.move_numbers.append(record.ply)
        apply_move_inplace(state, move_from_json(record.move, state.board), validate=False, undo=False)
    span = buffer.games.setdefault(artifact_id, [game.id, game.id, 0])
    span[0], span[1] = min(span[0], game.id), max(span[1], game.id)
    span[2] += 1


def shard_arrays(buffer: SampleBuffer) -> dict[str, np.ndarray]:
    sizes = [len(indices) for indices in buffer.policy_indices]
    return {
        "features": np.stack(buffer.features, dtype=np.float32),
        "globals": np.stack(buffer.globals, dtype=np.float32),
        "policy_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "policy_indices": np.concatenate(buffer.policy_indices).astype(np.int32),
        "policy_probs": np.concatenate(buffer.policy_probs).astype(np.float32),
        "values": np.asarray(buffer.values, dtype=np.float32),
        "game_ids": np.asarray(buffer.game_ids, dtype=np.int64),
        "move_numbers": np.asarray(buffer.move_numbers, dtype=np.int32),
        "searched": np.asarray(buffer.searched, dtype=np.bool_),
        "policy_weight": np.asarray(buffer.policy_weight, dtype=np.float32),
    }


