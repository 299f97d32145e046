"""Playing recorded evaluation games for a job: the arena's games, each appended to ``matches``.

A job's games come in numbered blocks (one per opponent, or per purpose):
game i of block b is recorded as ``game_index = b * BLOCK + i`` and seeded
from (job seed, b, i), so a killed job's next claim replays exactly the
games that are not recorded yet and none that are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ..errors import UserError
from ..store.game_records import GameRecord
from ..store.matches import record_match_in, recorded_game_indices
from ..store.models import Model, find_model, latest_candidate
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .model_choice import load_evaluator

BLOCK = 1_000_000


@dataclass(frozen=True)
class Participant:
    """A player as ``matches`` names it: a model id, ``random`` or ``heuristic``."""

    name: str
    model: Model | None = None


def resolve_device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_candidate(context, config_key: str, name: str) -> Model:
    """``candidate`` (the newest candidate) or a model id; checked for config, encoder and file."""
    from ..ai.encoding import ENCODER_VERSION
    from .model_choice import registered_model_path

    if name == "candidate":
        model = latest_candidate(context.store, config_key)
        if model is None:
            raise UserError(f"{config_key} has no candidate model: run `ringrift train {config_key}` first")
    else:
        model = find_model(context.store, name, config_key)
    if model.encoder_version not in (None, ENCODER_VERSION):
        raise UserError(f"model {model.id[:12]} was trained for encoder version {model.encoder_version}, "
                        f"this ringrift encodes with {ENCODER_VERSION}")
    registered_model_path(context, model.id)  # refuses a missing or tampered file, by name
    return model


def spec_of(participant: Participant, simulations: int):
    from ..ai.players import PlayerSpec

    if participant.model is None:
        return PlayerSpec(participant.name, participant.name)
    # Named as matches name it, so that game records and matches agree on who sat where.
    return PlayerSpec(participant.name, "search", simulations, participant.name)


class _EnoughGames(Exception):
    """Raised from a game's callback when ``stop()`` says the block has played enough."""


def play_block(jctx: JobContext, job: Job, block: int, seats: list[Participant], games: int, *, seed: int,
               simulations: int, parallel: int, device: str, procs: int = 1,
               stop: Callable[[], bool] = lambda: False, on_game: Callable[[int], None] = lambda done: None,
               keep_game: Callable[[GameRecord], None] | None = None, on_move=lambda tally: None) -> int:
    """Play games ``0..games-1`` of ``block`` between ``seats`` (rotating) over ``procs`` search
    processes, recording each as it ends; ``keep_game`` (if given) first receives each game's record,
    numbered as in ``matches``. Returns the games recorded now; ``stop()`` (checked after each game)
    ends the block early."""
    from ..ai.arena import match_sides
    from ..ai.game_loop import game_seed
    from ..ai.search_procs import play_games_procs

    low = block * BLOCK
    done = {i - low for i in recorded_game_indices(jctx.context.store, job.id) if low <= i < low + BLOCK}
    if len(done) >= games or stop():
        return 0

    def load(model_id: str):
        return load_evaluator(jctx.context, job.config_key, model_id, device)[0]

    sides = match_sides([spec_of(p, simulations) for p in seats], load, jctx.context.setting("search.gumbel"),
                        opening_plies=jctx.context.setting("eval.opening_plies"))
    recorded = 0

    def record(result) -> None:
        nonlocal recorded
        if jctx.lease_lost.is_set():
            raise UserError(f"{job.kind} job {job.id} lost its claim; stopping (recorded games are kept)")
        if keep_game is not None:  # before the match: a game kept but not yet matched is played again
            keep_game(replace(result.record, index=low + result.index))
        with jctx.context.store.write() as db:
            check_held_in(db, job.id, jctx.worker, job.claim_seq)
            recorded += record_match_in(
                db, config_key=job.config_key, job_id=job.id, game_index=low + result.index,
                players=[seats[p].name for p in result.players], ranks=list(result.ranks), seed=result.seed,
                simulations=simulations, moves=result.moves, status="capped" if result.capped else "completed")
        on_game(recorded)
        if stop():
            raise _EnoughGames

    indices = [index for index in range(games) if index not in done]
    try:
        play_games_procs(job.config_key, sides, indices=indices, parallel=parallel,
                         base_seed=game_seed(seed, block), procs=procs, on_game=record, on_move=on_move,
                         record=keep_game is not None)
    except _EnoughGames:
        pass
    return recorded
