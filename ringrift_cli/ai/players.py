"""Baseline players, available wherever a player is named: ``random`` and ``heuristic``.

A player has ``choose(state, moves) -> Move``; the engine's ``play_game``
seats any such object.
"""

from __future__ import annotations

import random

from ..errors import UserError
from ..game import GameState, Move
from .heuristic import move_values

BASELINE_PLAYERS = ("random", "heuristic")


class RandomPlayer:
    """Uniform over the legal moves."""

    name = "random"

    def __init__(self, rng: random.Random):
        self.rng = rng

    def choose(self, state: GameState, moves: list[Move]) -> Move:
        return moves[self.rng.randrange(len(moves))]


class HeuristicPlayer:
    """One ply of lookahead with the hand-written evaluator; ties broken at random."""

    name = "heuristic"

    def __init__(self, rng: random.Random):
        self.rng = rng

    def choose(self, state: GameState, moves: list[Move]) -> Move:
        if len(moves) == 1:
            return moves[0]
        values = move_values(state, moves)
        top = max(values)
        best = [move for move, value in zip(moves, values) if value > top - 1e-9]
        return best[self.rng.randrange(len(best))]


def baseline_player(name: str, rng: random.Random):
    """A baseline player by name; UserError for an unknown name."""
    if name == "random":
        return RandomPlayer(rng)
    if name == "heuristic":
        return HeuristicPlayer(rng)
    raise UserError(f"unknown player {name!r}; valid: {', '.join(BASELINE_PLAYERS)}")
