"""The export stage: turn games not yet exported into validated NPZ training shards.

For each registered games shard of the config that no NPZ lists as an
input: check its sha256 and replay every game through the engine. A shard
that fails either is quarantined (set aside for good, with an
``artifact_flagged`` event) and the export goes on with the others: training
on a game the engine disagrees with would poison the model, and one bad
shard must not stop the loop. Then each position is encoded from the side to
move, with the search's visit distribution and the game's per-seat result
as targets. Shards are written to a temporary name, validated by reading
them back, renamed, and registered with their inputs in one transaction,
each with an ``npz_exported`` event. A second export with no new games does
nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..files import atomic_path, sha256_of
from ..store.artifacts import (Artifact, artifacts_not_yet_used, flag_artifact_in, register_artifact_in,
                               still_pending_in)
from ..store.events import append_event
from ..store.game_records import GameRecord, ShardFormatError, read_games
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .params import export_params


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


@dataclass
class ExportPlan:
    """What an export run decided about each pending games shard."""

    used: list[int] = field(default_factory=list)  # artifact ids whose games went into shards
    flagged: list[tuple[Artifact, str, str]] = field(default_factory=list)  # (artifact, flag, reason)


def export_handler(job: Job, jctx: JobContext) -> dict:
    from ..ai.encoding import ENCODER_VERSION, encoder_for

    params = export_params(job, jctx)
    max_samples, min_moves = params.max_samples, params.min_game_moves
    pending = artifacts_not_yet_used(jctx.context.store, job.config_key, "games", by_kind="npz")
    encoding = encoder_for(job.config_key)
    # The features dominate a shard's memory (60 kB a sample on the 25x25 board).
    sample_bytes = 4 * encoding.planes * encoding.height * encoding.width
    max_bytes = jctx.context.setting("export.max_shard_mb") * 2**20
    written: list[tuple[Path, dict, tuple[int, ...], int]] = []
    buffer, inputs, plan = SampleBuffer(), [], ExportPlan()
    for number, artifact in enumerate(pending):
        jctx.progress(number, len(pending), artifact.path)
        if jctx.lease_lost.is_set():
            raise UserError(f"export job {job.id} lost its claim; stopping")
        games = readable_games(jctx, artifact, job.config_key, ENCODER_VERSION, plan)
        if games is None:
            continue
        exportable = [g for g in games if g.status == "completed" and len(g.moves) >= min_moves]
        if not exportable:
            plan.flagged.append((artifact, "no_samples", f"no completed game of {min_moves} moves or more"))
            continue
        plan.used.append(artifact.id)
        inputs.append(artifact.id)
        for game in exportable:
            # Shards end at game boundaries; only a single game longer than a cap exceeds it.
            if len(buffer) and (len(buffer) + len(game.moves) > max_samples
                                or (len(buffer) + len(game.moves)) * sample_bytes > max_bytes):
                written.append(write_npz(jctx, job, buffer, len(written), encoding.policy_size, inputs))
                buffer, inputs = SampleBuffer(), [artifact.id]
            add_game_samples(buffer, artifact, game)
    if len(buffer):
        written.append(write_npz(jctx, job, buffer, len(written), encoding.policy_size, inputs))
    jctx.progress(len(pending), len(pending), "registering")
    results = register_npz(jctx, job, written, plan)
    return {"shards": results, "games_shards_read": len(plan.used), "samples": sum(r["samples"] for r in results),
            "set_aside": [{"path": a.path, "flag": flag, "reason": reason} for a, flag, reason in plan.flagged]}


def readable_games(jctx: JobContext, artifact: Artifact, config_key: str, encoder_version: int,
                   plan: ExportPlan) -> list[GameRecord] | None:
    """The shard's games if it is intact, of our encoder, and every completed game replays to its
    recorded end; otherwise None, with the reason added to ``plan.flagged``."""
    path = jctx.home.root / artifact.path
    if not path.is_file() or sha256_of(path) != artifact.sha256:
        plan.flagged.append((artifact, "quarantined", "missing or does not match its registered sha256"))
        return None
    try:
        meta, games = read_games(path)
    except ShardFormatError as exc:
        plan.flagged.append((artifact, "quarantined", str(exc)))
        return None
    if meta.get("config_key") != config_key:
        plan.flagged.append((artifact, "quarantined", f"holds {meta.get('config_key')} games, not {config_key}"))
        return None
    if meta.get("encoder_version") != encoder_version:
        # Its visit distributions are over another policy layout: never mixed in, kept for the record.
        plan.flagged.append((artifact, "other_encoder", f"recorded with encoder {meta.get('encoder_version')}"))
        return None
    for game in games:
        mismatch = replay_mismatch(game)
        if mismatch is not None:
            plan.flagged.append((artifact, "quarantined", f"game {game.id}: {mismatch}"))
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


def add_game_samples(buffer: SampleBuffer, artifact: Artifact, game: GameRecord) -> None:
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
        buffer.values.append([game.values[(mover - 1 + k) % n] for k in range(n)])
        buffer.game_ids.append((artifact.id << 32) | game.id)
        buffer.move_numbers.append(record.ply)
        apply_move_inplace(state, move_from_json(record.move, state.board), validate=False, undo=False)
    span = buffer.games.setdefault(artifact.id, [game.id, game.id, 0])
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
    }


def write_npz(jctx: JobContext, job: Job, buffer: SampleBuffer, number: int, policy_size: int,
              inputs: list[int]) -> tuple[Path, dict, tuple[int, ...], int]:
    """Write, read back and validate, then rename one shard; return (path, meta, inputs, samples).

    Empties ``buffer`` once its arrays are built, so a shard is held in memory about twice
    (lists, then arrays) rather than three times (plus the read-back).
    """
    from ..ai.encoding import ENCODER_VERSION
    from ..ai.samples import SampleShard, read_shard, write_shard

    path = jctx.home.data_dir("npz") / job.config_key / f"export-job{job.id}-{number:03d}.npz"
    samples = len(buffer)
    meta = {"config_key": job.config_key, "encoder_version": ENCODER_VERSION, "policy_size": policy_size,
            "games": {str(k): v for k, v in buffer.games.items()}, "samples": samples, "job_id": job.id}
    arrays = shard_arrays(buffer)
    buffer.__init__()
    with atomic_path(path) as tmp:
        write_shard(tmp, SampleShard(arrays, meta))
        del arrays
        read_shard(tmp, encoder_version=ENCODER_VERSION, policy_size=policy_size)
    return path, meta, tuple(dict.fromkeys(inputs)), samples


def register_npz(jctx: JobContext, job: Job, written, plan: ExportPlan) -> list[dict]:
    """Register every shard of this export, and the shards set aside, in one transaction.

    Only while this worker still holds the job, and only if no other export consumed the same
    games meanwhile (then this run's shards are deleted and nothing is registered).
    """
    digests = [sha256_of(path) for path, *_ in written]  # before the transaction: it holds the write lock
    results = []
    with jctx.context.store.write() as db:
        check_held_in(db, job.id, jctx.worker, job.claim_seq)
        considered = plan.used + [artifact.id for artifact, _, _ in plan.flagged]
        if not still_pending_in(db, considered, by_kind="npz"):
            for path, *_ in written:
                path.unlink(missing_ok=True)
            return []
        for artifact, flag, reason in plan.flagged:
            flag_artifact_in(db, artifact, flag, reason, job.id)
        for (path, meta, inputs, samples), digest in zip(written, digests):
            relative = str(path.relative_to(jctx.home.root))
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
