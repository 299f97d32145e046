"""The export stage: turn games not yet exported into validated NPZ training shards.

For each registered games shard of the config that no NPZ lists as an
input: check its sha256, replay every completed game through the engine
(a game that does not reach its recorded final state stops the export:
training on it would poison the model), encode each position from the
side to move, and collect the search's visit distribution and the game's
per-seat result as targets. Shards are written to a temporary name,
validated by reading them back, renamed, and registered with their inputs
in one transaction, each with an ``npz_exported`` event. A second export
with no new games does nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..files import atomic_path, sha256_of
from ..store.artifacts import Artifact, artifacts_not_yet_used, register_artifact_in
from ..store.events import append_event
from ..store.game_records import GameRecord, ShardFormatError, read_games
from ..store.queue import Job
from .handlers import JobContext
from .params import export_params


class ReplayMismatch(UserError):
    """A recorded game that the engine does not replay to its recorded end."""


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
    games: dict = field(default_factory=dict)  # artifact id -> [first game id, last game id, count]

    def __len__(self) -> int:
        return len(self.features)


def export_handler(job: Job, jctx: JobContext) -> dict:
    from ..ai.encoding import ENCODER_VERSION, encoder_for

    max_samples, min_moves = export_params(job, jctx)
    store = jctx.context.store
    pending = artifacts_not_yet_used(store, job.config_key, "games", by_kind="npz")
    encoding = encoder_for(job.config_key)
    written: list[tuple[Path, dict, tuple[int, ...], int]] = []
    buffer, inputs, skipped = SampleBuffer(), [], []
    # The features dominate a shard's memory (60 kB a sample on the 25x25 board).
    sample_bytes = 4 * encoding.planes * encoding.height * encoding.width
    max_bytes = jctx.context.setting("export.max_shard_mb") * 2**20
    for number, artifact in enumerate(pending):
        jctx.progress(number, len(pending), artifact.path)
        path = jctx.home.root / artifact.path
        if not path.is_file() or sha256_of(path) != artifact.sha256:
            raise UserError(f"games shard {artifact.path} is missing or does not match its sha256; not exporting it")
        try:
            meta, games = read_games(path)
        except ShardFormatError as exc:
            raise UserError(str(exc)) from None
        if meta.get("config_key") != job.config_key:
            raise UserError(f"games shard {artifact.path} holds {meta.get('config_key')} games, not {job.config_key}")
        if meta.get("encoder_version") != ENCODER_VERSION:
            # Its visit distributions are over another policy layout: never mixed in, kept for the record.
            skipped.append(artifact.path)
            continue
        inputs.append(artifact.id)
        for game in games:
            if game.status != "completed" or len(game.moves) < min_moves:
                continue
            # Shards end at game boundaries; only a single game longer than a cap exceeds it.
            if len(buffer) and (len(buffer) + len(game.moves) > max_samples
                                or (len(buffer) + len(game.moves)) * sample_bytes > max_bytes):
                written.append(write_npz(jctx, job, buffer, len(written), encoding.policy_size, inputs))
                buffer, inputs = SampleBuffer(), [artifact.id]
            add_game_samples(buffer, artifact, game)
    if len(buffer):
        written.append(write_npz(jctx, job, buffer, len(written), encoding.policy_size, inputs))
    jctx.progress(len(pending), len(pending), "registering")
    results = register_npz(jctx, job, written, [a.id for a in pending if a.path not in skipped])
    return {"shards": results, "games_shards_read": len(pending) - len(skipped),
            "samples": sum(r["samples"] for r in results), "skipped_other_encoder": skipped}


def add_game_samples(buffer: SampleBuffer, artifact: Artifact, game: GameRecord) -> None:
    """Replay ``game`` and append one sample per recorded move."""
    from ..ai.encoding import encode_state
    from ..game import apply_move_inplace, move_from_json, state_from_json

    state = state_from_json(game.initial_state)
    n = state.n
    for record in game.moves:
        if record.player != state.current:
            raise ReplayMismatch(f"{artifact.path} game {game.id} ply {record.ply}: recorded player "
                                 f"{record.player}, engine says {state.current} is to move")
        planes, globals_ = encode_state(state)
        buffer.features.append(planes)
        buffer.globals.append(globals_)
        buffer.policy_indices.append(np.asarray(record.policy_indices, dtype=np.int32))
        buffer.policy_probs.append(np.asarray(record.policy_probs, dtype=np.float32))
        mover = state.current
        buffer.values.append([game.values[(mover - 1 + k) % n] for k in range(n)])
        buffer.game_ids.append((artifact.id << 32) | game.id)
        buffer.move_numbers.append(record.ply)
        try:
            apply_move_inplace(state, move_from_json(record.move, state.board), validate=True, undo=False)
        except Exception as exc:
            raise ReplayMismatch(f"{artifact.path} game {game.id} ply {record.ply}: recorded move is illegal "
                                 f"({exc})") from None
    if f"{state.state_hash():016x}" != game.final_hash or not state.is_over():
        raise ReplayMismatch(f"{artifact.path} game {game.id}: replay does not reach the recorded final position")
    span = buffer.games.setdefault(artifact.id, [game.id, game.id, 0])
    span[0], span[1] = min(span[0], game.id), max(span[1], game.id)
    span[2] += 1


def shard_arrays(buffer: SampleBuffer) -> dict[str, np.ndarray]:
    sizes = [len(indices) for indices in buffer.policy_indices]
    return {
        "features": np.stack(buffer.features).astype(np.float32),
        "globals": np.stack(buffer.globals).astype(np.float32),
        "policy_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "policy_indices": np.concatenate(buffer.policy_indices).astype(np.int32),
        "policy_probs": np.concatenate(buffer.policy_probs).astype(np.float32),
        "values": np.asarray(buffer.values, dtype=np.float32),
        "game_ids": np.asarray(buffer.game_ids, dtype=np.int64),
        "move_numbers": np.asarray(buffer.move_numbers, dtype=np.int32),
    }


def write_npz(jctx: JobContext, job: Job, buffer: SampleBuffer, number: int, policy_size: int,
              inputs: list[int]) -> tuple[Path, dict, tuple[int, ...], int]:
    """Write, read back and validate, then rename one shard; return (path, meta, inputs, samples)."""
    from ..ai.encoding import ENCODER_VERSION
    from ..ai.samples import SampleShard, read_shard, write_shard

    path = jctx.home.data_dir("npz") / job.config_key / f"export-job{job.id}-{number:03d}.npz"
    meta = {"config_key": job.config_key, "encoder_version": ENCODER_VERSION, "policy_size": policy_size,
            "games": {str(k): v for k, v in buffer.games.items()}, "samples": len(buffer), "job_id": job.id}
    with atomic_path(path) as tmp:
        write_shard(tmp, SampleShard(shard_arrays(buffer), meta))
        read_shard(tmp, encoder_version=ENCODER_VERSION, policy_size=policy_size)
    return path, meta, tuple(dict.fromkeys(inputs)), len(buffer)


def register_npz(jctx: JobContext, job: Job, written, all_inputs: list[int]) -> list[dict]:
    """Register every shard of this export in one transaction (games read but yielding no sample
    are listed as inputs of the first shard, so they are not read again)."""
    results = []
    with jctx.context.store.write() as db:
        for number, (path, meta, inputs, samples) in enumerate(written):
            if number == 0:
                inputs = tuple(dict.fromkeys([*inputs, *all_inputs]))
            relative = str(path.relative_to(jctx.home.root))
            digest = sha256_of(path)
            artifact, created = register_artifact_in(
                db, kind="npz", config_key=job.config_key, path=relative, sha256=digest,
                size=os.path.getsize(path), meta=meta, job_id=job.id, inputs=inputs)
            if created:
                append_event(db, "npz_exported",
                             {"artifact_id": artifact.id, "path": relative, "samples": samples,
                              "games": sum(span[2] for span in meta["games"].values()), "inputs": list(inputs)},
                             config_key=job.config_key, job_id=job.id, dedup_key=f"npz_exported:{artifact.id}")
            results.append({"artifact_id": artifact.id, "path": relative, "sha256": digest, "samples": samples})
    return results
