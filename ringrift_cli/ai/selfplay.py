"""Playing many selfplay games at once with batched search, producing game records.

The caller supplies the evaluator (network or heuristic) and receives each
finished game as a ``GameRecord`` as soon as it ends, so it can be written
before the next one finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..game.rules import parse_config_key
from ..settings import default_of
from ..store.game_records import GameRecord
from .evaluators import Evaluator
from .game_loop import PlayTally, Side, play_games
from .mcts import DIRICHLET_ALPHA, SearchSettings


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
    on_move: Callable[[PlayTally], None] = lambda tally: None,
) -> PlayTally:
    """Play the games numbered ``indices`` (each seeded by its number), ``parallel`` at a time: one
    searched side at every seat, sharing one tree per game."""
    tally = PlayTally()

    def count(inner: PlayTally) -> None:
        tally.games, tally.moves, tally.evaluations = inner.games, inner.moves, inner.evaluations
        on_move(tally)

    for result in play_games(config_key, [Side(model_name, "search", evaluator, settings)], indices,
                             parallel=parallel, base_seed=base_seed, on_move=count):
        on_game(result.record)
    return tally
