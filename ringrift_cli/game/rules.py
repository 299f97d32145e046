"""Game configurations, rules options and the numbers derived from them.

A config key names a board and a player count, e.g. ``square8_2p``.
``RulesOptions`` holds the optional rule switches; every switch that
departs from RULES.md is off by default.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..keys import CONFIG_KEYS
from .boards import BOARD_TYPES, board_for  # noqa: F401  (BOARD_TYPES: imported from here by the encoders)
from .errors import UnknownConfigError

# CONFIG_KEYS: the one list lives in ringrift_cli.keys (light: every CLI start checks against it).

RINGS_PER_PLAYER = {"square8": 18, "square19": 72, "hex8": 18, "hexagonal": 96}

# Safety-net move caps of the reference training environment (RULES.md 13),
# counted in recorded moves (bookkeeping included).
MOVE_CAPS = {
    "square8": (600, 900, 1400),
    "hex8": (600, 900, 1400),
    "square19": (2400, 3000, 3600),
    "hexagonal": (3600, 4200, 4800),
}


@dataclass(frozen=True)
class RulesOptions:
    """Optional rule switches.

    * ``swap_rule`` – offer the 2-player pie rule (``swap_sides``).
    * ``legacy_territory_threshold`` – use floor(T/2)+1 as the territory
      minimum for every player count, as the reference Python engine's
      default start state does (needed to replay its 3-4 player records).
    * ``lps_rounds`` – consecutive exclusive rounds for last-player-standing.
    * ``rings_per_player`` – override the board's ring supply.
    * ``stack_strike`` – allow the stack-strike recovery mode (canonical).
    * ``active_by_stack_controllers`` – test regions against the players
      controlling a stack (no region with fewer than two), as some versions
      of the reference engines do, instead of every player owning a ring on
      the board (RULES.md 14 item 11).
    """

    swap_rule: bool = False
    legacy_territory_threshold: bool = False
    lps_rounds: int = 3
    rings_per_player: int | None = None
    stack_strike: bool = True
    active_by_stack_controllers: bool = False


DEFAULT_OPTIONS = RulesOptions()


@dataclass(frozen=True)
class GameParams:
    """Numbers fixed for a whole game (RULES.md section 3)."""

    board_type: str
    players: int
    rings_per_player: int
    line_length: int
    victory_threshold: int
    territory_minimum: int
    legacy_territory_threshold: int
    move_cap: int


def parse_config_key(key: str) -> tuple[str, int]:
    """``"hex8_3p"`` -> ``("hex8", 3)``; raises UnknownConfigError."""
    if key not in CONFIG_KEYS:
        raise UnknownConfigError(f"unknown config {key!r}; valid: {', '.join(CONFIG_KEYS)}")
    board, n = key.rsplit("_", 1)
    return board, int(n[:-1])


def line_length_for(board_type: str, players: int) -> int:
    if board_type in ("square8", "hex8") and players >= 3:
        return 3
    return 4


def elimination_threshold(rings_per_player: int, players: int) -> int:
    # round(), not floor(): 18 * 5/3 is 29.999... in floating point.
    return int(round(rings_per_player * (2 / 3 + (players - 1) / 3)))


def params_for(board_type: str, players: int, options: RulesOptions = DEFAULT_OPTIONS) -> GameParams:
    """Derived parameters; ``players`` may be 1..4 (1 only for loaded states)."""
    board = board_for(board_type)
    rings = options.rings_per_player or RINGS_PER_PLAYER[board_type]
    legacy = board.cells // 2 + 1
    minimum = legacy if options.legacy_territory_threshold else board.cells // max(players, 1) + 1
    caps = MOVE_CAPS[board_type]
    return GameParams(
        board_type=board_type,
        players=players,
        rings_per_player=rings,
        line_length=line_length_for(board_type, players),
        victory_threshold=elimination_threshold(rings, players),
        territory_minimum=minimum,
        legacy_territory_threshold=legacy,
        move_cap=caps[min(max(players, 2), 4) - 2],
    )
