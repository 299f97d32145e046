"""Players, named the same way wherever a player is named (``play``, eval).

A spec is ``random``, ``heuristic`` (one ply with the hand-written
evaluator), ``search:N`` (N simulations of the search with the heuristic
evaluator) or ``search:N:MODEL`` (with a network: a model id or file,
turned into an evaluator by a function the caller passes in).

A baseline player has ``choose(state, moves) -> Move``; the engine's
``play_game`` seats any such object. Searched players are played by
``arena``, which batches their searches across the games in flight.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from ..errors import UserError
from ..game import GameState, Move
from ..settings import default_of
from .heuristic import move_values

BASELINE_PLAYERS = ("random", "heuristic")
PLAYER_FORMS = "random, heuristic, search:N or search:N:MODEL"
MAX_SIMULATIONS = 100_000


@dataclass(frozen=True)
class PlayerSpec:
    """One named player: ``kind`` is random, heuristic or search."""

    name: str
    kind: str
    simulations: int = 0
    model: str | None = None  # search only: None for the heuristic evaluator


def parse_player(text: str) -> PlayerSpec:
    """The spec named by ``text``; UserError naming the valid forms otherwise."""
    name = text.strip()
    if name in BASELINE_PLAYERS:
        return PlayerSpec(name, name)
    parts = name.split(":", 2)
    if parts[0] == "search" and len(parts) >= 2 and parts[1].isdigit():
        simulations = int(parts[1])
        model = parts[2] if len(parts) == 3 else None
        if not 1 <= simulations <= MAX_SIMULATIONS:
            raise UserError(f"player {name!r}: simulations must be 1 to {MAX_SIMULATIONS}")
        if model is not None and not model:
            raise UserError(f"player {name!r}: empty model after search:N:")
        return PlayerSpec(name, "search", simulations, model)
    raise UserError(f"unknown player {name!r}; valid: {PLAYER_FORMS}")


def parse_players(text: str, seats: int) -> list[PlayerSpec]:
    """One spec per seat from a comma-separated list (a ``MODEL`` may not contain a comma)."""
    specs = [parse_player(part) for part in text.split(",")]
    if len(specs) != seats:
        raise UserError(f"{seats} players needed, got {len(specs)}: {text}")
    return specs


def search_evaluator(spec: PlayerSpec, load_model: Callable[[str], object] | None):
    """The evaluator of a searched player: the heuristic, or the network ``load_model(MODEL)`` gives."""
    from .evaluators import HeuristicEvaluator

    if spec.model is None:
        return HeuristicEvaluator()
    if load_model is None:
        raise UserError(f"player {spec.name!r} names a model, which cannot be loaded here")
    return load_model(spec.model)


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


class SearchPlayer:
    """A searched player for one game at a time (``arena`` searches many games at once): no root
    noise, the search's own choice. Like the arena it keeps the subtree of the position it is
    handed next, when its last search reached it, and searches on from there."""

    def __init__(self, spec: PlayerSpec, evaluator, seed: int, gumbel: bool = default_of("search.gumbel")):
        import numpy as np

        from .mcts import SearchSettings

        self.name = spec.name
        self.evaluator = evaluator
        self.settings = SearchSettings(simulations=spec.simulations, dirichlet_fraction=0.0, gumbel=gumbel)
        self.rng = np.random.default_rng(seed)
        self.search = None  # the tree of the last search, advanced by the move it chose

    def choose(self, state: GameState, moves: list[Move]) -> Move:
        from .batch_search import pick_move, search_positions
        from .mcts import Search

        if len(moves) == 1:
            return moves[0]
        if self.search is None or not follow(self.search, state):
            self.search = Search(state.copy(), self.settings, self.rng)
        search_positions([self.search], self.evaluator, self.settings)
        index = pick_move(self.search, 0.0, self.rng)
        move = self.search.root.moves[index]
        self.search.advance(index)
        return move


def follow(search, state: GameState) -> bool:
    """Advance ``search`` along its tree to ``state`` (moves played since it last moved, found among
    the expanded nodes); False, leaving it as it was, when the tree does not reach it."""
    from .mcts import Node

    if search.root is None:
        return search.state == state
    depth = state.ply - search.state.ply
    if depth < 0:
        return False
    layer = [(search.root, search.state, [])]
    for _ in range(depth):
        layer = [(child, _after(position, node.moves[index]), path + [index])
                 for node, position, path in layer
                 for index, child in enumerate(node.children) if isinstance(child, Node) and child.moves]
    for _, position, path in layer:
        if position == state:
            for index in path:
                search.advance(index)
            return True
    return False


def _after(state: GameState, move: Move) -> GameState:
    from ..game import apply_move_inplace

    state = state.copy()
    apply_move_inplace(state, move, validate=False, undo=False)
    return state


def make_player(spec: PlayerSpec, rng: random.Random, load_model: Callable[[str], object] | None = None,
                gumbel: bool = default_of("search.gumbel")):
    """A player object for ``spec`` (for one game at a time); ``gumbel`` picks a searched player's root search."""
    if spec.kind == "search":
        return SearchPlayer(spec, search_evaluator(spec, load_model), rng.randrange(2**32), gumbel)
    return baseline_player(spec.kind, rng)
