"""Playing whole games between built-in players.

``play_game("square8_2p", ["random", "random"], seed=1)`` plays to the end
(or to the reference move cap) and returns a ``PlayedGame``. The same seed
gives the same game. ``on_move`` is called after every move with the move
and the new state, e.g. to print ``render(state)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .apply import apply_move_inplace
from .errors import GameError
from .initial import initial_state
from .legal import legal_moves
from .moves import Move
from .rules import DEFAULT_OPTIONS, RulesOptions
from .state import ACTIVE, GameState
from .victory import final_ranks

PLAYER_KINDS = ("random",)


@dataclass
class PlayedGame:
    config: str
    seed: int
    moves: list = field(default_factory=list)
    state: GameState | None = None
    capped: bool = False

    @property
    def winner(self) -> int | None:
        return self.state.winner or None if self.state else None

    @property
    def ranks(self) -> list:
        return final_ranks(self.state) if self.state else []


class RandomPlayer:
    """Chooses uniformly among the legal moves."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def choose(self, state: GameState, moves: list) -> Move:
        return moves[self.rng.randrange(len(moves))]


def make_player(kind: str, rng: random.Random) -> RandomPlayer:
    if kind == "random":
        return RandomPlayer(rng)
    raise GameError(f"unknown player kind {kind!r}; valid: {', '.join(PLAYER_KINDS)}")


def play_game(
    config: str,
    players: list | tuple | None = None,
    seed: int = 0,
    options: RulesOptions = DEFAULT_OPTIONS,
    max_moves: int | None = None,
    on_move: Callable[[Move, GameState], None] | None = None,
) -> PlayedGame:
    """Play one game; ``players`` gives one player per seat (default: random
    for every seat): a kind name from ``PLAYER_KINDS`` or any object with a
    ``choose(state, moves) -> Move`` method."""
    state = initial_state(config, options)
    if players is None:
        players = ["random"] * state.n
    if len(players) != state.n:
        raise GameError(f"{config} needs {state.n} players, got {len(players)}")
    rng = random.Random(seed)
    seats = [player if hasattr(player, "choose") else make_player(player, rng) for player in players]
    cap = max_moves if max_moves is not None else state.params.move_cap
    game = PlayedGame(config=config, seed=seed)
    while state.status == ACTIVE:
        if len(game.moves) >= cap:
            game.capped = True
            break
        moves = legal_moves(state)
        move = seats[state.current - 1].choose(state, moves)
        apply_move_inplace(state, move, validate=False, undo=False)
        game.moves.append(move)
        if on_move is not None:
            on_move(move, state)
    game.state = state
    return game
