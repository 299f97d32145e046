"""Start positions (RULES.md 5)."""

from __future__ import annotations

from .rules import DEFAULT_OPTIONS, RulesOptions, parse_config_key
from .state import GameState


def initial_state(config_key: str, options: RulesOptions = DEFAULT_OPTIONS) -> GameState:
    """Empty board, every player holding their full ring supply, player 1
    to move in ``ring_placement``. ``config_key`` is one of ``CONFIG_KEYS``
    (e.g. ``"square8_2p"``); anything else raises UnknownConfigError."""
    board_type, players = parse_config_key(config_key)
    return new_game(board_type, players, options)


def new_game(board_type: str, players: int, options: RulesOptions = DEFAULT_OPTIONS) -> GameState:
    s = GameState.empty(board_type, players, options)
    for p in range(1, players + 1):
        s.hand[p] = s.params.rings_per_player
    return s
