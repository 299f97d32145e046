"""Matches between named players: N games, seats rotating, results as each game ends.

Player k of the list sits at seat ``(k + index) % n + 1`` in game
``index``, so over any n consecutive games every player has every seat
once (two players: each half the games at each seat). Game ``index`` plays
the same whatever else is in flight, so a caller that records each
``GameResult`` as it arrives can resume by passing the finished indices as
``skip``.

Searched players search with no root noise and play their best move (the
game loop of selfplay, with one side per player).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from ..settings import default_of
from .game_loop import GameResult, Side, play_games
from .intervals import wilson_interval
from .players import PlayerSpec, search_evaluator


@dataclass
class PlayerSummary:
    name: str
    wins: int = 0
    draws: int = 0
    losses: int = 0
    score: float = 0.0  # mean per-game score
    ci95: tuple[float, float] = (0.0, 0.0)


def match_sides(specs: list[PlayerSpec], load_model: Callable[[str], object] | None = None,
                gumbel: bool = default_of("search.gumbel"), opening_plies: int = 0) -> list[Side]:
    """The sides of a match: searched players without root noise, except that their first
    ``opening_plies`` moves are sampled (so that seeds give different games between two searches)."""
    from .selfplay import SelfplaySettings

    sides = []
    for spec in specs:
        if spec.kind != "search":
            sides.append(Side(spec.name, spec.kind))
            continue
        settings = SelfplaySettings(simulations=spec.simulations, temperature_plies=opening_plies, dirichlet_fraction=0.0,
                                    gumbel=gumbel)
        sides.append(Side(spec.name, "search", search_evaluator(spec, load_model), settings))
    return sides


def play_match(config_key: str, specs: list[PlayerSpec], games: int, *, base_seed: int = 0, parallel: int = 16,
               skip: set[int] = frozenset(), load_model: Callable[[str], object] | None = None,
               gumbel: bool = default_of("search.gumbel"), record: bool = False,
               opening_plies: int = 0) -> Iterator[GameResult]:
    """Play games ``0..games-1`` (except ``skip``), ``parallel`` at a time; yield each result as it ends.
    ``gumbel`` picks the searched players' root search (Gumbel or PUCT); ``record`` keeps each game's
    moves and search targets in its result; ``opening_plies`` as in ``match_sides``."""
    indices = [index for index in range(games) if index not in skip]
    yield from play_games(config_key, match_sides(specs, load_model, gumbel, opening_plies), indices,
                          parallel=parallel, base_seed=base_seed, record=record)


def summarize(names: list[str], results: list[GameResult]) -> list[PlayerSummary]:
    """Wins (first alone), draws, losses (all else), mean score and its 95% interval, per player."""
    rows = []
    for player, name in enumerate(names):
        scores = [result.score_of(player) for result in results]
        row = PlayerSummary(name)
        for result, score in zip(results, scores):
            seat = result.players.index(player)
            alone_first = result.ranks[seat] == 1 and result.ranks.count(1) == 1
            row.wins += alone_first
            row.draws += not alone_first and score > 0
            row.losses += score == 0
        if scores:
            row.score = sum(scores) / len(scores)
            row.ci95 = wilson_interval(row.score * len(scores), len(scores))  # a draw counts half
        rows.append(row)
    return rows

