"""Playing many selfplay games at once with batched search, producing game records.

The caller supplies the evaluator (network or heuristic) and receives each
finished game as a ``GameRecord`` as soon as it ends, so it can be written
before the next one finishes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterable

import numpy as np

from ..game import (GameState, apply_move_inplace, board_for, initial_state, legal_moves, move_to_json,
                    state_to_json)
from ..game.rules import parse_config_key
from ..settings import default_of
from ..store.game_records import GameRecord, MoveRecord
from .encoding import policy_target
from .evaluators import Evaluator
from .heuristic import terminal_values
from .batch_search import pick_move, root_policy, search_positions
from .mcts import DIRICHLET_ALPHA, Search, SearchSettings


@dataclass(frozen=True)
class SelfplaySettings:
    """Search settings of a selfplay run; unset fields take the settings' single defaults."""

    simulations: int = default_of("selfplay.simulations")
    temperature_plies: int = default_of("selfplay.temperature_plies")
    dirichlet_fraction: float = default_of("selfplay.dirichlet_fraction")
    c_puct: float = default_of("selfplay.c_puct")
    gumbel: bool = default_of("search.gumbel")

    def search_settings(self, config_key: str) -> SearchSettings:
        board, _ = parse_config_key(config_key)
        return SearchSettings(simulations=self.simulations, c_puct=self.c_puct, gumbel=self.gumbel,
                              dirichlet_alpha=DIRICHLET_ALPHA[board], dirichlet_fraction=self.dirichlet_fraction)


@dataclass
class GameInProgress:
    index: int
    seed: int
    search: Search
    initial: dict
    rng: np.random.Generator
    moves: list[MoveRecord]


@dataclass
class SelfplayTally:
    games: int = 0
    moves: int = 0
    evaluations: int = 0


def game_seed(base_seed: int, index: int) -> int:
    """A distinct, reproducible seed for game ``index`` of a run."""
    return (base_seed * 1_000_003 + index) % (2**63)


def play_selfplay(
    config_key: str,
    evaluator: Evaluator,
    model_name: str,
    settings: SelfplaySettings,
    *,
    indices: Iterable[int],
    parallel: int,
    base_seed: int,
    on_game: Callable[[GameRecord], None],
    on_move: Callable[[SelfplayTally], None] = lambda tally: None,
) -> SelfplayTally:
    """Play the games numbered ``indices`` (each seeded by its number), ``parallel`` at a time."""
    from .encoding import indices_for_moves  # the policy layout every record is written in

    search_settings = settings.search_settings(config_key)
    board = board_for(parse_config_key(config_key)[0])
    source = iter(indices)  # drawn lazily: search processes take their next index from a shared counter
    exhausted = False
    active: list[GameInProgress] = []
    tally = SelfplayTally()

    def start_game(index: int) -> GameInProgress:
        seed = game_seed(base_seed, index)
        state = initial_state(config_key)
        search = Search(state, search_settings, np.random.default_rng([seed, 1]))
        return GameInProgress(index, seed, search, state_to_json(state), np.random.default_rng(seed), [])

    while True:
        while len(active) < parallel and not exhausted:
            index = next(source, None)
            if index is None:
                exhausted = True
            else:
                active.append(start_game(index))
        if not active:
            break
        searching = []
        for game in active:
            state = game.search.state
            moves = legal_moves(state)
            if len(moves) == 1:
                record_forced_move(game, state, moves[0], board, indices_for_moves)
                tally.moves += 1
            else:
                searching.append(game)
        if searching:
            tally.evaluations += search_positions([g.search for g in searching], evaluator, search_settings,
                                                  noise=[exploration(g, settings) for g in searching])
            for game in searching:
                play_searched_move(game, settings, board, indices_for_moves)
                tally.moves += 1
        finished = [game for game in active if game_finished(game.search.state)]
        for game in finished:
            on_game(finish_record(game, model_name, settings))
            tally.games += 1
        active = [game for game in active if game not in finished]
        on_move(tally)
    return tally


def exploration(game: GameInProgress, settings: SelfplaySettings) -> np.random.Generator | None:
    """The generator of a game's root noise this move, None for none: Dirichlet noise at every PUCT
    root; Gumbel noise (which also picks the move played) during the first ``temperature_plies``,
    after which the Gumbel search plays its best move."""
    if settings.gumbel and game.search.state.ply >= settings.temperature_plies:
        return None
    return game.rng


def game_finished(state: GameState) -> bool:
    return state.is_over() or state.ply >= state.params.move_cap


def record_forced_move(game: GameInProgress, state: GameState, move, board, indices_for_moves) -> None:
    indices, probs = policy_target(indices_for_moves(state, [move]), [1.0])
    game.moves.append(MoveRecord(state.ply, state.current, move_to_json(move, board), indices, probs, None, False))
    apply_move_inplace(state, move, validate=False, undo=False)
    game.search.root = None


def play_searched_move(game: GameInProgress, settings: SelfplaySettings, board, indices_for_moves) -> None:
    search = game.search
    state, root = search.state, search.root
    # The target is the search's policy (improved policy or visit fractions), whatever is then played.
    indices, probs = policy_target(indices_for_moves(state, root.moves), root_policy(search))
    temperature = 1.0 if state.ply < settings.temperature_plies else 0.0
    chosen = pick_move(search, temperature, game.rng)
    game.moves.append(MoveRecord(state.ply, state.current, move_to_json(root.moves[chosen], board), indices,
                                 probs, [float(v) for v in root.mean_values()], True))
    search.advance(chosen)


def finish_record(game: GameInProgress, model_name: str, settings: SelfplaySettings) -> GameRecord:
    state = game.search.state
    if state.is_over():
        status, values = "completed", terminal_values(state)
    else:
        status, values = "capped", [0.0] * state.n
    return GameRecord(
        index=game.index, seed=game.seed, model=model_name, settings=asdict(settings), status=status,
        winner=state.winner or None, reason=state.victory_reason or ("move cap" if status == "capped" else ""),
        values=[float(v) for v in values], initial_state=game.initial,
        final_hash=f"{state.state_hash():016x}", moves=game.moves,
    )
