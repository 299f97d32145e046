"""Matches between named players: N games, seats rotating, results as each game ends.

Player k of the list sits at seat ``(k + index) % n + 1`` in game
``index``, so over any n consecutive games every player has every seat
once (two players: each half the games at each seat). Game ``index`` is
seeded by ``game_seed(base_seed, index)`` and plays the same whatever else
is in flight, so a caller that records each ``GameResult`` as it arrives
can resume by passing the finished indices as ``skip``.

Searched players search with no root noise and play their most visited
move. All games in flight where a searched player is to move are searched
together, so a network player's leaves share one evaluator call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..game import GameState, Move, apply_move_inplace, final_ranks, initial_state, legal_moves
from ..settings import default_of
from .batch_search import pick_move, search_positions
from .intervals import wilson_interval
from .mcts import Search, SearchSettings
from .players import PlayerSpec, baseline_player, search_evaluator
from .selfplay import game_finished, game_seed


@dataclass(frozen=True)
class GameResult:
    """One finished game: ``players[s]`` is the index (in the match's list) of the player at seat s+1."""

    index: int
    seed: int
    players: tuple[int, ...]
    ranks: tuple[int, ...]  # per seat; a game stopped at the move cap ranks every seat 1 (a draw)
    moves: int
    capped: bool

    def score_of(self, player: int) -> float:
        """1 for first alone, 0 for last alone, in between by the seats ranked below (ties half)."""
        seat = self.players.index(player)
        n = len(self.ranks)
        below = sum(rank > self.ranks[seat] for rank in self.ranks)
        tied = sum(rank == self.ranks[seat] for rank in self.ranks) - 1
        return (below + 0.5 * tied) / (n - 1)


@dataclass
class PlayerSummary:
    name: str
    wins: int = 0
    draws: int = 0
    losses: int = 0
    score: float = 0.0  # mean per-game score
    ci95: tuple[float, float] = (0.0, 0.0)


@dataclass
class _Game:
    index: int
    seed: int
    players: tuple[int, ...]
    state: GameState
    searches: dict  # player index -> its Search (searched players only)
    rng: random.Random
    moves: int = 0


def seating(index: int, players: int) -> tuple[int, ...]:
    """The player index at each seat in game ``index`` (rotating by one seat per game)."""
    return tuple((seat - index) % players for seat in range(players))


def play_match(config_key: str, specs: list[PlayerSpec], games: int, *, base_seed: int = 0, parallel: int = 16,
               skip: set[int] = frozenset(), load_model: Callable[[str], object] | None = None,
               gumbel: bool = default_of("search.gumbel")) -> Iterator[GameResult]:
    """Play games ``0..games-1`` (except ``skip``), ``parallel`` at a time; yield each result as it ends.
    ``gumbel`` picks the searched players' root search (Gumbel or PUCT)."""
    evaluators = {k: search_evaluator(spec, load_model) for k, spec in enumerate(specs) if spec.kind == "search"}
    settings = {k: SearchSettings(simulations=spec.simulations, dirichlet_fraction=0.0, gumbel=gumbel)
                for k, spec in enumerate(specs) if spec.kind == "search"}
    waiting = [index for index in reversed(range(games)) if index not in skip]
    active: list[_Game] = []
    while active or waiting:
        while len(active) < parallel and waiting:
            active.append(_start(config_key, settings, len(specs), waiting.pop(), base_seed))
        to_search: dict[int, list[_Game]] = {}
        for game in active:
            player = game.players[game.state.current - 1]
            moves = legal_moves(game.state)
            if player in game.searches and len(moves) > 1:
                to_search.setdefault(player, []).append(game)
            else:
                move = moves[0] if len(moves) == 1 else baseline_player(specs[player].kind, game.rng).choose(
                    game.state, moves)
                _play(game, move)
        for player, group in to_search.items():
            searches = [game.searches[player] for game in group]
            search_positions(searches, evaluators[player], settings[player])
            for game, search in zip(group, searches):
                _play(game, search.root.moves[pick_move(search, 0.0, search.rng)])
        for game in [game for game in active if game_finished(game.state)]:
            active.remove(game)
            yield _result(game)


def _start(config_key: str, settings: dict, players: int, index: int, base_seed: int) -> _Game:
    """A new game; ``settings`` holds the search settings of each searched player."""
    seed = game_seed(base_seed, index)
    state = initial_state(config_key)
    seats = seating(index, players)
    searches = {player: Search(state.copy(), settings[player], np.random.default_rng([seed, seat]))
                for seat, player in enumerate(seats) if player in settings}
    return _Game(index, seed, seats, state, searches, random.Random(seed))


def _play(game: _Game, move: Move) -> None:
    """Play ``move`` on the game and in every searched player's tree (keeping the subtree it reached)."""
    apply_move_inplace(game.state, move, validate=False, undo=False)
    game.moves += 1
    for search in game.searches.values():
        root = search.root
        if root is not None and move in root.moves:
            search.advance(root.moves.index(move))
        else:
            apply_move_inplace(search.state, move, validate=False, undo=False)
            search.root = None


def _result(game: _Game) -> GameResult:
    state = game.state
    capped = not state.is_over()
    ranks = [1] * state.n
    if not capped:
        for rank in final_ranks(state):
            ranks[rank.player - 1] = rank.rank
    return GameResult(game.index, game.seed, game.players, tuple(ranks), game.moves, capped)


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

