"""The eval stage: a gauntlet of the candidate against each opponent, every game appended to ``matches``.

Seats rotate evenly (the arena's seating), seeds are per game, and a killed
job's next claim plays only the games not recorded yet. One
``eval_completed`` event carries the score summary.
"""

from __future__ import annotations

from ..ai.ratings import Game
from ..errors import UserError
from ..game.rules import parse_config_key
from ..store.events import append_event
from ..store.matches import matches_for
from ..store.models import Model, best_model
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .matchplay import Participant, play_block, resolve_candidate, resolve_device
from .params import eval_params


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
    seats_count = parse_config_key(job.config_key)[1]
    device = resolve_device(params.device)
    total = len(opponents) * params.games
    for block, opponent in enumerate(opponents):
        seats = [Participant(candidate.id, candidate)] + [opponent] * (seats_count - 1)
        before = block * params.games

        def progress(done: int, before=before, opponent=opponent) -> None:
            jctx.progress(min(before + done, total), total, f"vs {opponent.name[:12]}")

        play_block(jctx, job, block, seats, params.games, seed=params.seed, simulations=params.sims,
                   parallel=params.parallel, device=device, on_game=progress)
    return publish_eval(jctx, job, candidate, opponents)


def publish_eval(jctx: JobContext, job: Job, candidate: Model, opponents: list[Participant]) -> dict:
    from ..ai.gate import scores_against, summary

    games = [Game(m.players, m.ranks) for m in matches_for(jctx.context.store, job.config_key, job.id)]
    scores = {o.name: summary(scores_against(games, candidate.id, o.name)) for o in opponents}
    with jctx.context.store.write() as db:
        check_held_in(db, job.id, jctx.worker, job.claim_seq)
        append_event(db, "eval_completed", {"model_id": candidate.id, "games": len(games), "scores": scores},
                     config_key=job.config_key, job_id=job.id, dedup_key=f"eval_completed:{job.id}")
    return {"model_id": candidate.id, "games": len(games), "scores": scores}
