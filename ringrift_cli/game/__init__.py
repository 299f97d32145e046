"""The RingRift rules engine.

Everything a caller needs is exported here::

    from ringrift_cli.game import initial_state, legal_moves, apply_move, game_result

    state = initial_state("square8_2p")          # 12 config keys: CONFIG_KEYS
    while not is_game_over(state):
        move = legal_moves(state)[0]              # Move values (named tuples)
        state = apply_move(state, move)           # pure: returns a new state
    print(game_result(state).winner, final_ranks(state))

For search, ``apply_move_inplace`` mutates the state and returns an undo
token for ``undo_move``; ``state.state_hash()`` is a 64-bit hash that is
equal for equal states. ``state_to_json`` / ``state_from_json`` (and the
move versions) give our canonical JSON form; ``load_reference_state`` /
``load_reference_move`` read the reference project's JSON. ``check_file``
replays reference documents (``ringrift rules check``), ``play_game`` plays
seeded games between built-in players and ``render`` draws a board.
See docs/engine.md.
"""

from .apply import Undo, apply_move, apply_move_inplace, undo_move
from .boards import BOARD_TYPES, Board, board_for
from .errors import (
    FormatError,
    GameError,
    IllegalMoveError,
    UnknownBoardError,
    UnknownConfigError,
    UnreadableInputError,
)
from .initial import initial_state, new_game
from .legal import legal_moves
from .moves import BOOKKEEPING_TYPES, MOVE_TYPES, PHASES, Move
from .play import PLAYER_KINDS, PlayedGame, play_game
from .reference_format import fingerprint
from .reference_format import load_move as load_reference_move
from .reference_format import load_state as load_reference_state
from .render import render
from .replay import BundleCheck, GameCheck, check_document, check_file, result_to_json
from .result import GameResult, game_result, is_game_over
from .rules import CONFIG_KEYS, RulesOptions, parse_config_key
from .serialize import move_from_json, move_to_json, state_from_json, state_to_json
from .state import GameState
from .victory import Rank, final_ranks

__all__ = [
    "BOARD_TYPES",
    "BOOKKEEPING_TYPES",
    "Board",
    "BundleCheck",
    "CONFIG_KEYS",
    "FormatError",
    "GameCheck",
    "GameError",
    "GameResult",
    "GameState",
    "IllegalMoveError",
    "MOVE_TYPES",
    "Move",
    "PHASES",
    "PLAYER_KINDS",
    "PlayedGame",
    "Rank",
    "RulesOptions",
    "Undo",
    "UnknownBoardError",
    "UnknownConfigError",
    "UnreadableInputError",
    "apply_move",
    "apply_move_inplace",
    "board_for",
    "check_document",
    "check_file",
    "final_ranks",
    "fingerprint",
    "game_result",
    "initial_state",
    "is_game_over",
    "legal_moves",
    "load_reference_move",
    "load_reference_state",
    "move_from_json",
    "move_to_json",
    "new_game",
    "parse_config_key",
    "play_game",
    "render",
    "result_to_json",
    "state_from_json",
    "state_to_json",
    "undo_move",
]
