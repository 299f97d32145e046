"""The selfplay stage: play N games for a config and record them as one registered shard.

Safe to kill at any moment: finished games are committed one by one to
``games/<config>/selfplay-job<ID>.db.tmp``; a rerun of the same job resumes
that file where it stopped. Only a complete shard is renamed, hashed and
registered (with one ``games_recorded`` event). With several search
processes (``procs``) this process stays the shard's only writer: the
children send each finished game here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import UserError
from ..files import exclusive_lock, fsync_dir, sha256_of
from ..store.artifacts import register_artifact_in
from ..store.db import now
from ..store.events import append_event
from ..store.game_records import count_games, finish_shard, open_shard, recorded_indices, shard_meta, write_game
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .model_choice import describe_choice, load_evaluator
from .params import selfplay_params


def shard_path(jctx: JobContext, job: Job) -> Path:
    return jctx.home.data_dir("games") / job.config_key / f"selfplay-job{job.id}.db"


def selfplay_handler(job: Job, jctx: JobContext) -> dict:
    params = selfplay_params(job, jctx)
    final = shard_path(jctx, job)
    lease = jctx.context.queue_policy().lease_seconds
    set_aside = None
    lock = final.with_name(final.name + ".lock")
    with exclusive_lock(lock, timeout=lease):
        if not final.exists():
            set_aside = record_games(job, jctx, params, final)
        result = register_shard(jctx, job, final)
        # Removed while held: anyone still waiting on it finds the shard finished and
        # registered, and registering again is a no-op.
        lock.unlink(missing_ok=True)
    return {**result, "seed": params.seed, "searched_with": describe_choice(jctx.context, job.config_key, params.model),
            **({"set_aside": set_aside} if set_aside else {})}


def record_games(job: Job, jctx: JobContext, params, final: Path) -> str | None:
    """Play the games missing from the temporary shard, then rename it to ``final``. Returns the
    name a corrupt temporary shard was set aside under (its games are played again), if any."""
    from ..ai.encoding import ENCODER_VERSION, encoder_for
    from ..ai.search_procs import play_selfplay_procs
    from ..ai.selfplay import SelfplaySettings

    evaluator, model_name = load_evaluator(jctx.context, job.config_key, params.model, params.device)
    tmp = final.with_name(final.name + ".tmp")
    meta = {"config_key": job.config_key, "encoder_version": ENCODER_VERSION,
            "policy_size": encoder_for(job.config_key).policy_size, "job_id": job.id, "seed": params.seed}
    conn, set_aside = open_temporary_shard(tmp, meta)
    try:
        recorded = shard_meta(conn)
        if {key: recorded.get(key) for key in meta} != meta:
            raise UserError(f"{tmp} was started with another encoder, config or seed; remove it to start over")
        # Games finish out of order when several are played at once: resume by index, not by count.
        missing = sorted(set(range(params.games)) - recorded_indices(conn))
        started, done = time.monotonic(), params.games - len(missing)

        def on_move(tally) -> None:
            jctx.progress(done + tally.games, params.games, progress_detail(tally, time.monotonic() - started))
            if jctx.lease_lost.is_set():
                raise UserError(f"selfplay job {job.id} lost its claim; stopping (finished games are kept)")

        settings = SelfplaySettings(simulations=params.sims, temperature_plies=params.temperature_plies,
                                    dirichlet_fraction=params.dirichlet_fraction, c_puct=params.c_puct,
                                    gumbel=jctx.context.setting("search.gumbel"))
        play_selfplay_procs(job.config_key, evaluator, model_name, settings, indices=missing,
                            parallel=params.parallel, base_seed=params.seed, procs=params.procs,
                            on_game=lambda record: write_game(conn, record, now()), on_move=on_move)
    except BaseException:
        conn.close()
        raise
    finish_shard(conn)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    return set_aside


def open_temporary_shard(tmp: Path, meta: dict):
    """Open the temporary shard to resume; one that SQLite cannot read (a torn or overwritten file)
    is renamed aside, named in the job's result, and a fresh one started, rather than failing every
    attempt of the job without saying which file is at fault."""
    import sqlite3

    try:
        conn = open_shard(tmp, meta)
    except sqlite3.DatabaseError:
        conn = None
    if conn is not None:
        try:
            shard_meta(conn), recorded_indices(conn)
            return conn, None
        except (sqlite3.DatabaseError, ValueError):
            conn.close()
    aside = tmp.with_name(tmp.name + ".corrupt")
    os.replace(tmp, aside)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return open_shard(tmp, meta), str(aside)


def progress_detail(tally, seconds: float) -> str:
    """Moves, moves/s and evaluations/s so far, and the batching evaluator's fill when there is one."""
    seconds = max(seconds, 1e-9)
    detail = f"{tally.moves} moves, {tally.moves / seconds:.0f} moves/s, {tally.evaluations / seconds:.0f} evals/s"
    fill = tally.batch_fill
    if fill is not None:
        detail += f", batch fill {fill:.0%}"
    return detail


def register_shard(jctx: JobContext, job: Job, path: Path) -> dict:
    """Register the finished shard and emit ``games_recorded`` once (idempotent on rerun),
    only while this worker still holds the job."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        games, moves = count_games(conn)
    finally:
        conn.close()
    digest = sha256_of(path)  # before the transaction: hashing a big file must not hold the write lock
    relative = str(path.relative_to(jctx.home.root))
    with jctx.context.store.write() as db:
        check_held_in(db, job.id, jctx.worker, job.claim_seq)
        artifact, created = register_artifact_in(
            db, kind="games", config_key=job.config_key, path=relative, sha256=digest,
            size=path.stat().st_size, meta={"games": games, "moves": moves}, job_id=job.id)
        if created:
            append_event(db, "games_recorded",
                         {"artifact_id": artifact.id, "path": relative, "games": games, "moves": moves},
                         config_key=job.config_key, job_id=job.id, dedup_key=f"games_recorded:{artifact.id}")
    return {"artifact_id": artifact.id, "path": relative, "sha256": digest, "games": games, "moves": moves}
