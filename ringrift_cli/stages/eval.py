"""The eval stage: a gauntlet of the candidate against each opponent, every game appended to ``matches``.

Seats rotate evenly (the arena's seating), seeds are per game, and a killed
job's next claim plays only the games not recorded yet. The games are also
written to a games shard (``games/<config>/eval-job<ID>.db``), registered
like selfplay's so that export makes training data of them. One
``eval_completed`` event carries the score summary.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..ai.ratings import Game
from ..errors import UserError
from ..files import exclusive_lock, fsync_dir, sha256_of
from ..game.rules import parse_config_key
from ..store.db import now
from ..store.events import append_event
from ..store.game_records import GameRecord, count_games, finish_shard, recorded_indices, write_game
from ..store.matches import matches_for
from ..store.models import Model, best_model
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .matchplay import Participant, play_block, resolve_candidate, resolve_device
from .params import eval_params
from .selfplay import open_temporary_shard, progress_detail, register_games_shard


def resolve_opponents(context, config_key: str, names: tuple[str, ...], candidate: Model) -> list[Participant]:
    """Baselines by name, ``best`` as the current best model (left out before one exists or when it is the
    candidate itself), model ids checked like the candidate."""
    opponents = []
    for name in names:
        if name in ("random", "heuristic"):
            opponents.append(Participant(name))
            continue
        model = best_model(context.store, config_key) if name == "best" else resolve_candidate(context, config_key, name)
        if model is not None and model.id != candidate.id:
            opponents.append(Participant(model.id, model))
    if not opponents:
        raise UserError(f"no opponent left to play for model {candidate.id[:12]} (asked for {', '.join(names)})")
    return opponents


def check_eval_inputs(context, config_key: str, raw: dict) -> None:
    """What the CLI checks before it enqueues: the params, the candidate (file included), the opponents."""
    params = eval_params(raw, context.setting)
    resolve_opponents(context, config_key, params.opponents, resolve_candidate(context, config_key, params.model))


def eval_handler(job: Job, jctx: JobContext) -> dict:
    params = eval_params(job.params, jctx.context.setting, job)
    candidate = resolve_candidate(jctx.context, job.config_key, params.model)
    opponents = resolve_opponents(jctx.context, job.config_key, params.opponents, candidate)
    final = eval_shard_path(jctx, job)
    lock = final.with_name(final.name + ".lock")
    with exclusive_lock(lock, timeout=jctx.context.queue_policy().lease_seconds):
        if not final.exists():
            conn = open_eval_shard(job, final, params.seed)
            try:
                play_gauntlet(jctx, job, params, candidate, opponents, conn)
            except BaseException:
                conn.close()
                raise
            finish_shard(conn)
            os.replace(final.with_name(final.name + ".tmp"), final)
            fsync_dir(final.parent)
        games_shard = register_eval_shard(jctx, job, final)
        lock.unlink(missing_ok=True)
    return {**publish_eval(jctx, job, candidate, opponents), "games_shard": games_shard}


def register_eval_shard(jctx: JobContext, job: Job, path: Path) -> dict:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        games, moves = count_games(conn)
    finally:
        conn.close()
    digest = sha256_of(path)  # before the transaction: hashing a big file must not hold the write lock
    return register_games_shard(jctx.context, job, jctx.worker, str(path.relative_to(jctx.home.root)), digest,
                                path.stat().st_size, games, moves)


class GauntletProgress:
    """The job's progress: games over all opponents, and the search's moves and evaluations per second."""

    def __init__(self, jctx: JobContext, total: int):
        self.jctx, self.total, self.started = jctx, total, time.monotonic()
        self.before, self.done, self.opponent, self.tally = 0, 0, "", None

    def start_block(self, before: int, opponent: str) -> None:
        self.before, self.done, self.opponent = before, 0, opponent

    def on_game(self, done: int) -> None:
        self.done = done
        self.show()

    def on_move(self, tally) -> None:
        self.tally = tally
        self.show()

    def show(self) -> None:
        detail = f"vs {self.opponent[:12]}"
        if self.tally is not None:
            detail += ", " + progress_detail(self.tally, time.monotonic() - self.started)
        self.jctx.progress(min(self.before + self.done, self.total), self.total, detail)


def play_gauntlet(jctx: JobContext, job: Job, params, candidate: Model, opponents: list[Participant], conn) -> None:
    """Play (or finish) the games against each opponent, keeping each game in the shard ``conn``."""
    seats_count = parse_config_key(job.config_key)[1]
    device = resolve_device(params.device)
    kept = recorded_indices(conn)
    progress = GauntletProgress(jctx, len(opponents) * params.games)

    def keep(record: GameRecord) -> None:
        if record.index not in kept:  # (kept, then killed before its match was recorded: played again)
            write_game(conn, record, now())
            kept.add(record.index)

    for block, opponent in enumerate(opponents):
        seats = [Participant(candidate.id, candidate)] + [opponent] * (seats_count - 1)
        progress.start_block(block * params.games, opponent.name)
        play_block(jctx, job, block, seats, params.games, seed=params.seed, simulations=params.sims,
                   parallel=params.parallel, device=device, procs=params.procs, on_game=progress.on_game,
                   on_move=progress.on_move, keep_game=keep)


def eval_shard_path(jctx: JobContext, job: Job) -> Path:
    return jctx.home.data_dir("games") / job.config_key / f"eval-job{job.id}.db"


def open_eval_shard(job: Job, final: Path, seed: int):
    """The evaluation's games shard, resumed where a killed run of the job left it: its games become
    training data like selfplay's (the moves of baseline players are kept, but not as search targets)."""
    from ..ai.encoding import ENCODER_VERSION, encoder_for

    meta = {"config_key": job.config_key, "encoder_version": ENCODER_VERSION,
            "policy_size": encoder_for(job.config_key).policy_size, "job_id": job.id, "seed": seed}
    return open_temporary_shard(final.with_name(final.name + ".tmp"), meta)[0]


def publish_eval(jctx: JobContext, job: Job, candidate: Model, opponents: list[Participant]) -> dict:
    from ..ai.gate import scores_against, summary

    games = [Game(m.players, m.ranks) for m in matches_for(jctx.context.store, job.config_key, job.id)]
    scores = {o.name: summary(scores_against(games, candidate.id, o.name)) for o in opponents}
    with jctx.context.store.write() as db:
        check_held_in(db, job.id, jctx.worker, job.claim_seq)
        append_event(db, "eval_completed", {"model_id": candidate.id, "games": len(games), "scores": scores},
                     config_key=job.config_key, job_id=job.id, dedup_key=f"eval_completed:{job.id}")
    return {"model_id": candidate.id, "games": len(games), "scores": scores}
