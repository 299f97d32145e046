"""Recovery (RULES.md 8.6): a player with no stack, a marker and a buried
ring may slide a marker one step instead of moving a stack.

Line-mode slides (forming a line of at least L) come first; only when none
exists anywhere may the player use a fallback slide or a stack strike. Each
cost is one buried-ring extraction from a stack of the player's choice, so
every slide is listed once per eligible extraction stack. Eligibility is
judged before the move, so a struck stack may pay for its own strike and
no strike is free (docs/engine.md, "Recovery cost").
"""

from __future__ import annotations

from .elimination import eliminate_top, extract_buried_ring, has_any_buried_ring, stacks_with_buried_ring
from .lines import collapse_markers, line_through, windows
from .moves import RECOVERY_SLIDE, make_move
from .state import EMPTY, STACK, GameState


def is_recovery_eligible(s: GameState, p: int) -> bool:
    return not s.stacks_of[p] and s.marker_count[p] > 0 and has_any_buried_ring(s, p)


def _line_after_slide(s: GameState, p: int, src: int, dst: int) -> tuple:
    # Move the marker on the raw arrays only; nothing else reads them here.
    marker = s.marker
    marker[src] = 0
    marker[dst] = p
    try:
        return line_through(s, p, dst)
    finally:
        marker[dst] = 0
        marker[src] = p


def _slides(s: GameState, p: int):
    """(src, dst) pairs of one-step marker slides, in cell then direction
    order."""
    rays = s.board.rays
    for src in sorted(s.markers_of[p]):
        for ray in rays[src]:
            if ray:
                yield src, ray[0]


def recovery_moves(s: GameState, p: int) -> list:
    L = s.params.line_length
    occ = s.occ
    extraction = stacks_with_buried_ring(s, p)
    out = []
    for src, dst in _slides(s, p):
        if occ[dst] != EMPTY:
            continue
        line = _line_after_slide(s, p, src, dst)
        if not line:
            continue
        for e in extraction:
            out.append(make_move(RECOVERY_SLIDE, p, dst, src, mode="line", option=1, extraction=e, cells=line))
        if len(line) > L:
            for w in windows(line, L):
                out.append(make_move(RECOVERY_SLIDE, p, dst, src, mode="line", option=2, cells=line, collapse=w))
    if out:
        return out
    strike = s.options.stack_strike
    for src, dst in _slides(s, p):
        o = occ[dst]
        if o == EMPTY:
            mode = "fallback"
        elif o == STACK and strike:
            mode = "stack_strike"
        else:
            continue
        for e in extraction:
            out.append(make_move(RECOVERY_SLIDE, p, dst, src, mode=mode, extraction=e))
    return out


def apply_recovery(s: GameState, move) -> None:
    p = move.player
    src, dst = move.frm, move.to
    if move.mode == "stack_strike":
        s.set_marker(src, 0)
        eliminate_top(s, dst, 1, p)
    else:
        s.set_marker(src, 0)
        s.set_marker(dst, p)
        if move.mode == "line":
            line = line_through(s, p, dst)
            if move.option == 2:
                collapse_markers(s, p, move.collapse)
            else:
                collapse_markers(s, p, line)
    if move.extraction >= 0:
        # The stack was chosen before the strike: if it is the struck
        # stack, the player's ring may now be on top; it still pays.
        extract_buried_ring(s, move.extraction, p)
