"""Playing recorded evaluation games for a job: the arena's games, numbered as ``matches`` records them.

A job's games come in numbered blocks (one per opponent, or per purpose):
game i of block b is recorded as ``game_index = b * BLOCK + i`` and seeded
from (job seed, b, i), so a killed job's next claim replays exactly the
games that are not recorded yet and none that are. ``play_block_games``
plays them from files alone (the run steps of eval and promote: the games
recorded in their run folders).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..errors import UserError
from ..runner.spec import InputFile, RunSpec, input_path
from ..store.artifacts import get_artifact
from ..store.game_records import GameRecord
from ..store.matches import record_match_in
from ..store.models import Model, find_model, latest_candidate

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


def planned_models(context, models: list[Model]) -> tuple[list[InputFile], dict[str, str]]:
    """Each model's file as a run input (its path and sha256), and that path by model id."""
    inputs, paths = [], {}
    for model in models:
        artifact = get_artifact(context.store, model.artifact_id)  # resolve_candidate checked the file
        inputs.append(InputFile("model", artifact.path, artifact.sha256))
        paths[model.id] = artifact.path
    return inputs, paths


def play_settings(context, values: dict) -> dict:
    """What a run's games are played with, from the job's resolved values and the settings."""
    return {"sims": values["sims"], "parallel": values["parallel"], "procs": values["procs"],
            "device": values["device"], "seed": values["seed"], "gumbel": context.setting("search.gumbel"),
            "opening_plies": context.setting("eval.opening_plies")}


def model_files(spec: RunSpec, root: Path) -> dict[str, Path]:
    """Each planned model's file on this machine (checked against its sha256), by model id."""
    paths = {item.path: item for item in spec.inputs}
    return {name: input_path(root, paths[path]) for name, path in spec.params["models"].items()}


def seat_spec(name: str, models: dict, simulations: int) -> PlayerSpec:
    """The player of a seat: a model (one of ``models``) searching, or the baseline of that name."""
    from ..ai.players import PlayerSpec

    if name not in models:
        return PlayerSpec(name, name)
    # Named as matches name it, so that game records and matches agree on who sat where.
    return PlayerSpec(name, "search", simulations, name)


def block_seats(candidate: str, opponent: str, seats: int, models: dict, simulations: int) -> list[PlayerSpec]:
    """A block's players: the candidate in the first seat, the opponent in every other (the arena
    rotates them from game to game)."""
    return [seat_spec(candidate, models, simulations)] + [seat_spec(opponent, models, simulations)] * (seats - 1)


def record_games_in(db, config_key: str, job_id: int, games: list[PlayedGame], simulations: int) -> None:
    """Within the caller's transaction: append each game to ``matches`` (one already there, from a
    publish that stopped half-way, is not added again)."""
    for game in games:
        record_match_in(db, config_key=config_key, job_id=job_id, game_index=game.game_index,
                        players=list(game.players), ranks=list(game.ranks), seed=game.seed,
                        simulations=simulations, moves=game.moves, status=game.status)


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
