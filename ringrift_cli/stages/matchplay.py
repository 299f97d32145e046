"""Playing recorded evaluation games for a job: the arena's games, numbered as ``matches`` records them.

A job's games come in numbered blocks (one per opponent, or per purpose):
game i of block b is recorded as ``game_index = b * BLOCK + i`` and seeded
from (job seed, b, i), so a killed job's next claim replays exactly the
games that are not recorded yet and none that are. ``play_block_games``
plays them from files alone (eval's run step: the games recorded in its run
folder); ``play_block`` appends each to ``matches`` as it ends (promote, on
the controller).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from ..errors import UserError
from ..store.game_records import GameRecord
from ..store.matches import record_match_in, recorded_game_indices
from ..store.models import Model, find_model, latest_candidate
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .model_choice import load_evaluator

if TYPE_CHECKING:
    from ..ai.players import PlayerSpec

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


def spec_of(participant: Participant, simulations: int) -> PlayerSpec:
    from ..ai.players import PlayerSpec

    if participant.model is None:
        return PlayerSpec(participant.name, participant.name)
    # Named as matches name it, so that game records and matches agree on who sat where.
    return PlayerSpec(participant.name, "search", simulations, participant.name)


class _EnoughGames(Exception):
    """Raised from a game's callback when ``stop()`` says the block has played enough."""


@dataclass(frozen=True)
class PlayedGame:
    """One finished game of a block, as ``matches`` records it (and its moves, when asked for)."""

    game_index: int
    players: tuple[str, ...]  # the participant in each seat
    ranks: tuple[int, ...]
    seed: int
    moves: int
    status: str  # completed, or capped (stopped at the move cap: a draw)
    record: GameRecord | None = None  # numbered ``game_index``


def play_block_games(config_key: str, block: int, seats: list[PlayerSpec], games: int, *, done: set[int], seed: int,
                     parallel: int, procs: int, load: Callable[[str], object], gumbel: bool, opening_plies: int,
                     on_game: Callable[[PlayedGame], None], on_move=lambda tally: None, record: bool = False,
                     stop: Callable[[], bool] = lambda: False) -> None:
    """Play the games ``0..games-1`` of ``block`` whose game index is not in ``done``, between ``seats``
    (rotating) over ``procs`` search processes, handing each to ``on_game`` as it ends. Works on what it
    is given alone (``load`` turns a model name into its evaluator). ``stop()`` (checked first and
    after each game) ends the block early."""
    from ..ai.arena import match_sides
    from ..ai.game_loop import game_seed
    from ..ai.search_procs import play_games_procs

    low = block * BLOCK
    indices = [index for index in range(games) if low + index not in done]
    if not indices or stop():
        return
    sides = match_sides(seats, load, gumbel, opening_plies=opening_plies)

    def finished(result) -> None:
        on_game(PlayedGame(low + result.index, tuple(seats[p].name for p in result.players), tuple(result.ranks),
                           result.seed, result.moves, "capped" if result.capped else "completed",
                           replace(result.record, index=low + result.index) if result.record else None))
        if stop():
            raise _EnoughGames

    try:
        play_games_procs(config_key, sides, indices=indices, parallel=parallel, base_seed=game_seed(seed, block),
                         procs=procs, on_game=finished, on_move=on_move, record=record)
    except _EnoughGames:
        pass


def play_block(jctx: JobContext, job: Job, block: int, seats: list[Participant], games: int, *, seed: int,
               simulations: int, parallel: int, device: str, procs: int = 1,
               stop: Callable[[], bool] = lambda: False, on_game: Callable[[int], None] = lambda done: None) -> int:
    """``play_block_games`` on the controller (promote's games: its gate reads ``matches`` as it plays),
    each game appended to ``matches`` under the job's fence as it ends, the games already there skipped.
    Returns the games recorded now."""
    recorded = 0

    def record(game: PlayedGame) -> None:
        nonlocal recorded
        if jctx.lease_lost.is_set():
            raise UserError(f"{job.kind} job {job.id} lost its claim; stopping (recorded games are kept)")
        with jctx.context.store.write() as db:
            check_held_in(db, job.id, jctx.worker, job.claim_seq)
            recorded += record_match_in(
                db, config_key=job.config_key, job_id=job.id, game_index=game.game_index, players=list(game.players),
                ranks=list(game.ranks), seed=game.seed, simulations=simulations, moves=game.moves, status=game.status)
        on_game(recorded)

    setting = jctx.context.setting
    play_block_games(job.config_key, block, [spec_of(p, simulations) for p in seats], games,
                     done=recorded_game_indices(jctx.context.store, job.id), seed=seed, parallel=parallel, procs=procs,
                     load=lambda model_id: load_evaluator(jctx.context, job.config_key, model_id, device)[0],
                     gumbel=setting("search.gumbel"), opening_plies=setting("eval.opening_plies"), on_game=record,
                     stop=stop)
    return recorded
