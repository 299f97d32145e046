"""Building positions by hand (tests, puzzles, analysis).

``position("square8", 2, stacks={"3,3": [1, 1]}, markers={"4,4": 2})``
returns a state with those contents; stacks list ring owners bottom to
top. Rings in hand default to the full supply minus the rings of that
colour placed on the board.
"""

from __future__ import annotations

from .moves import RING_PLACEMENT
from .rules import DEFAULT_OPTIONS, RulesOptions
from .state import GameState


def position(
    board_type: str,
    players: int,
    stacks: dict | None = None,
    markers: dict | None = None,
    collapsed: dict | None = None,
    hands: dict | None = None,
    current: int = 1,
    phase: str = RING_PLACEMENT,
    options: RulesOptions = DEFAULT_OPTIONS,
    acted: bool = False,
) -> GameState:
    """A state with the given board; territory counts follow ``collapsed``.

    ``hands`` maps player -> rings in hand (others get the rest of their
    supply). Turn flags start cleared except ``acted``; a game already
    underway can be marked with ``turn`` on the returned state."""
    s = GameState.empty(board_type, players, options)
    b = s.board
    for key, rings in (stacks or {}).items():
        rings = tuple(rings)
        s.set_stack(b.cell_of(key), rings)
        for r in rings:
            s.on_board[r] += 1
    for key, p in (markers or {}).items():
        s.set_marker(b.cell_of(key), p)
    for key, p in (collapsed or {}).items():
        s.set_collapsed(b.cell_of(key), p)
        s.territory[p] += 1
    for p in range(1, players + 1):
        default = s.params.rings_per_player - s.on_board[p]
        s.hand[p] = (hands or {}).get(p, max(default, 0))
    s.current = current
    s.phase = phase
    s.acted = acted
    s.turn = players  # past everyone's first turn
    return s
