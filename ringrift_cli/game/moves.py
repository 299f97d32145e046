"""Moves, move types and phase names.

A ``Move`` is an immutable value (a named tuple): two moves are equal when
all their fields are equal, and they hash accordingly. Cells are board cell
indices (see ``boards.py``); ``serialize.py`` turns them into coordinates.

Fields (unused ones keep their defaults):

* ``kind`` – the move type, one of ``MOVE_TYPES``.
* ``player`` – the seat making the move (1..N).
* ``to`` – target cell: placement cell, landing cell, eliminated stack,
  recovery destination, a cell of a chosen region; -1 when meaningless.
* ``frm`` – origin cell of a stack move, capture or recovery slide.
* ``target`` – the captured stack's cell (captures).
* ``count`` – rings placed (``place_ring``).
* ``cells`` – the line (line decisions, in line order) or the region
  (territory decisions, sorted) the decision is about.
* ``collapse`` – for ``choose_line_option`` the markers to collapse (the
  whole line = option 1, L of them = option 2); for a recovery slide in
  option 2 the collapsed positions.
* ``context`` – elimination context: ``line``, ``territory``, ``recovery``.
* ``mode`` – recovery mode: ``line``, ``fallback``, ``stack_strike``.
* ``option`` – recovery option 1 or 2 (0 when not a line recovery).
* ``extraction`` – the stack a recovery cost is paid from, or -1.
"""

from __future__ import annotations

from typing import NamedTuple

# Phases.
RING_PLACEMENT = "ring_placement"
MOVEMENT = "movement"
CAPTURE = "capture"
CHAIN_CAPTURE = "chain_capture"
LINE_PROCESSING = "line_processing"
TERRITORY_PROCESSING = "territory_processing"
FORCED_ELIMINATION = "forced_elimination"
GAME_OVER = "game_over"
PHASES = (
    RING_PLACEMENT,
    MOVEMENT,
    CAPTURE,
    CHAIN_CAPTURE,
    LINE_PROCESSING,
    TERRITORY_PROCESSING,
    FORCED_ELIMINATION,
    GAME_OVER,
)

# Move types.
PLACE_RING = "place_ring"
SKIP_PLACEMENT = "skip_placement"
NO_PLACEMENT_ACTION = "no_placement_action"
SWAP_SIDES = "swap_sides"
MOVE_STACK = "move_stack"
OVERTAKING_CAPTURE = "overtaking_capture"
CONTINUE_CAPTURE_SEGMENT = "continue_capture_segment"
SKIP_CAPTURE = "skip_capture"
NO_MOVEMENT_ACTION = "no_movement_action"
RECOVERY_SLIDE = "recovery_slide"
SKIP_RECOVERY = "skip_recovery"
PROCESS_LINE = "process_line"
CHOOSE_LINE_OPTION = "choose_line_option"
NO_LINE_ACTION = "no_line_action"
CHOOSE_TERRITORY_OPTION = "choose_territory_option"
SKIP_TERRITORY_PROCESSING = "skip_territory_processing"
NO_TERRITORY_ACTION = "no_territory_action"
ELIMINATE_RINGS_FROM_STACK = "eliminate_rings_from_stack"
FORCED_ELIMINATION_MOVE = "forced_elimination"
RESIGN = "resign"
TIMEOUT = "timeout"

MOVE_TYPES = (
    PLACE_RING,
    SKIP_PLACEMENT,
    NO_PLACEMENT_ACTION,
    SWAP_SIDES,
    MOVE_STACK,
    OVERTAKING_CAPTURE,
    CONTINUE_CAPTURE_SEGMENT,
    SKIP_CAPTURE,
    NO_MOVEMENT_ACTION,
    RECOVERY_SLIDE,
    SKIP_RECOVERY,
    PROCESS_LINE,
    CHOOSE_LINE_OPTION,
    NO_LINE_ACTION,
    CHOOSE_TERRITORY_OPTION,
    SKIP_TERRITORY_PROCESSING,
    NO_TERRITORY_ACTION,
    ELIMINATE_RINGS_FROM_STACK,
    FORCED_ELIMINATION_MOVE,
    RESIGN,
    TIMEOUT,
)

# Moves that do not count as acting this turn (RULES.md 6.2): they never
# prevent forced elimination.
BOOKKEEPING_TYPES = frozenset(
    {
        NO_PLACEMENT_ACTION,
        NO_MOVEMENT_ACTION,
        NO_LINE_ACTION,
        NO_TERRITORY_ACTION,
        SKIP_PLACEMENT,
        SKIP_CAPTURE,
        SKIP_RECOVERY,
        SKIP_TERRITORY_PROCESSING,
    }
)

# Old names found in early game records, mapped to the canonical ones.
LEGACY_MOVE_NAMES = {
    "move_ring": MOVE_STACK,
    "build_stack": MOVE_STACK,
    "choose_line_reward": CHOOSE_LINE_OPTION,
    "process_territory_region": CHOOSE_TERRITORY_OPTION,
    "line_formation": PROCESS_LINE,
    "territory_claim": CHOOSE_TERRITORY_OPTION,
    "chain_capture": CONTINUE_CAPTURE_SEGMENT,
}


class Move(NamedTuple):
    kind: str
    player: int
    to: int = -1
    frm: int = -1
    target: int = -1
    count: int = 0
    cells: tuple = ()
    collapse: tuple = ()
    context: str = ""
    mode: str = ""
    option: int = 0
    extraction: int = -1


_new = tuple.__new__


def make_move(
    kind, player, to=-1, frm=-1, target=-1, count=0, cells=(), collapse=(), context="", mode="", option=0, extraction=-1
):
    """Fast constructor used by the generators (skips NamedTuple argument
    handling); same result as ``Move(...)``."""
    return _new(Move, (kind, player, to, frm, target, count, cells, collapse, context, mode, option, extraction))


# Which move types belong to which phase (RULES.md 6.1); resign and timeout
# are accepted in any phase.
PHASE_MOVE_TYPES = {
    RING_PLACEMENT: frozenset({PLACE_RING, SKIP_PLACEMENT, SWAP_SIDES, NO_PLACEMENT_ACTION}),
    MOVEMENT: frozenset({MOVE_STACK, OVERTAKING_CAPTURE, RECOVERY_SLIDE, SKIP_RECOVERY, NO_MOVEMENT_ACTION}),
    CAPTURE: frozenset({OVERTAKING_CAPTURE, SKIP_CAPTURE}),
    CHAIN_CAPTURE: frozenset({CONTINUE_CAPTURE_SEGMENT}),
    LINE_PROCESSING: frozenset({PROCESS_LINE, CHOOSE_LINE_OPTION, ELIMINATE_RINGS_FROM_STACK, NO_LINE_ACTION}),
    TERRITORY_PROCESSING: frozenset(
        {CHOOSE_TERRITORY_OPTION, ELIMINATE_RINGS_FROM_STACK, SKIP_TERRITORY_PROCESSING, NO_TERRITORY_ACTION}
    ),
    FORCED_ELIMINATION: frozenset({FORCED_ELIMINATION_MOVE}),
    GAME_OVER: frozenset(),
}
