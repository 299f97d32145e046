"""Legal moves per phase (RULES.md 6.1 table) and matching of recorded
moves against them.

``legal_moves`` lists every distinct move the rules allow the current
player, bookkeeping moves included (a bookkeeping move appears only when
no interactive move exists). ``match_legal`` finds the generated move that
a move read from a record means, comparing lines and regions as cell sets.
"""

from __future__ import annotations

from .lines import find_lines, line_decision_moves, line_elimination_moves
from .movement import capture_moves, stack_moves
from .moves import (
    CAPTURE,
    CHAIN_CAPTURE,
    CHOOSE_LINE_OPTION,
    CHOOSE_TERRITORY_OPTION,
    CONTINUE_CAPTURE_SEGMENT,
    ELIMINATE_RINGS_FROM_STACK,
    FORCED_ELIMINATION,
    FORCED_ELIMINATION_MOVE,
    LINE_PROCESSING,
    MOVE_STACK,
    MOVEMENT,
    NO_LINE_ACTION,
    NO_MOVEMENT_ACTION,
    NO_PLACEMENT_ACTION,
    NO_TERRITORY_ACTION,
    OVERTAKING_CAPTURE,
    PLACE_RING,
    PROCESS_LINE,
    RECOVERY_SLIDE,
    RING_PLACEMENT,
    SKIP_CAPTURE,
    SKIP_PLACEMENT,
    SKIP_RECOVERY,
    SKIP_TERRITORY_PROCESSING,
    SWAP_SIDES,
    TERRITORY_PROCESSING,
    Move,
    make_move,
)
from .placement import any_stack_can_act, placement_moves
from .recovery import is_recovery_eligible, recovery_moves
from .state import ACTIVE, GameState
from .territory import region_decision_moves, territory_elimination_moves


def swap_available(s: GameState) -> bool:
    return (
        s.options.swap_rule
        and s.n == 2
        and s.current == 2
        and s.phase == RING_PLACEMENT
        and s.turn == 1
        and s.turn_moves == 0
        and not s.swapped
    )


def placement_phase_moves(s: GameState, p: int) -> list:
    out = []
    if s.hand[p] > 0:
        out = placement_moves(s, p)
        if any_stack_can_act(s, p) or is_recovery_eligible(s, p):
            out.append(make_move(SKIP_PLACEMENT, p))
    if swap_available(s):
        out.append(make_move(SWAP_SIDES, p))
    return out or [make_move(NO_PLACEMENT_ACTION, p)]


def movement_phase_moves(s: GameState, p: int) -> list:
    if is_recovery_eligible(s, p):
        out = recovery_moves(s, p)
        out.append(make_move(SKIP_RECOVERY, p))
        return out
    out = []
    if s.must_move >= 0:
        if s.ctrl[s.must_move] == p:
            stack_moves(s, s.must_move, p, out)
    else:
        for c in sorted(s.stacks_of[p]):
            stack_moves(s, c, p, out)
    return out or [make_move(NO_MOVEMENT_ACTION, p)]


def legal_moves(s: GameState) -> list:
    """Every legal move of the current player (empty once the game is over)."""
    if s.status != ACTIVE:
        return []
    p = s.current
    phase = s.phase
    if phase == RING_PLACEMENT:
        return placement_phase_moves(s, p)
    if phase == MOVEMENT:
        return movement_phase_moves(s, p)
    if phase == CAPTURE:
        out = []
        capture_moves(s, s.chain_pos, p, OVERTAKING_CAPTURE, out)
        out.append(make_move(SKIP_CAPTURE, p))
        return out
    if phase == CHAIN_CAPTURE:
        out = []
        capture_moves(s, s.chain_pos, p, CONTINUE_CAPTURE_SEGMENT, out)
        return out
    if phase == LINE_PROCESSING:
        out = line_elimination_moves(s, p) if s.pending_line else line_decision_moves(s, p)
        return out or [make_move(NO_LINE_ACTION, p)]
    if phase == TERRITORY_PROCESSING:
        if s.pending_terr:
            out = territory_elimination_moves(s, p)
        else:
            out = region_decision_moves(s, p, s.had_recovery)
        return out or [make_move(NO_TERRITORY_ACTION, p)]
    if phase == FORCED_ELIMINATION:
        return [make_move(FORCED_ELIMINATION_MOVE, p, c) for c in sorted(s.stacks_of[p])]
    return []


def _match_key(s: GameState, m: Move):
    """What identifies a move of its type; None fields are filled in from
    the generated move being compared."""
    k = m.kind
    if k == PLACE_RING:
        return (m.to, m.count or 1)
    if k == MOVE_STACK:
        return (m.frm, m.to)
    if k in (OVERTAKING_CAPTURE, CONTINUE_CAPTURE_SEGMENT):
        return (m.frm, m.target, m.to)
    if k in (ELIMINATE_RINGS_FROM_STACK, FORCED_ELIMINATION_MOVE):
        return (m.to,)
    return ()


def _line_of(s: GameState, m: Move):
    if m.cells:
        return frozenset(m.cells)
    for line in find_lines(s, m.player):
        if m.to in line:
            return frozenset(line)
    return None


def match_legal(s: GameState, m: Move, legal: list | None = None):
    """The generated legal move that ``m`` stands for, or None."""
    if s.status != ACTIVE or m.player != s.current:
        return None
    legal = legal_moves(s) if legal is None else legal
    k = m.kind
    if k in (PROCESS_LINE, CHOOSE_LINE_OPTION):
        line = _line_of(s, m)
        collapse = frozenset(m.collapse) if m.collapse else line
        for g in legal:
            if g.kind in (PROCESS_LINE, CHOOSE_LINE_OPTION) and frozenset(g.cells) == line:
                if frozenset(g.collapse) == collapse:
                    return g
        return None
    if k == CHOOSE_TERRITORY_OPTION:
        region = frozenset(m.cells) if m.cells else None
        candidates = [g for g in legal if g.kind == k]
        for g in candidates:
            if region is not None and frozenset(g.cells) == region:
                return g
        if region is None:
            for g in candidates:
                if m.to in g.cells:
                    return g
            if len(candidates) == 1:
                return candidates[0]
        return None
    if k == RECOVERY_SLIDE:
        for g in legal:
            if g.kind != k or g.frm != m.frm or g.to != m.to:
                continue
            if g.mode != (m.mode or "line"):
                continue
            if g.mode == "line" and g.option != (m.option or 1):
                continue
            if g.option == 2:
                if frozenset(g.collapse) != frozenset(m.collapse):
                    continue
            elif m.extraction >= 0 and g.extraction != m.extraction:
                continue
            return g
        return None
    if k == NO_TERRITORY_ACTION:
        # Reference records decline regions with no_territory_action too;
        # both reference engines accept it where skipping is legal.
        for g in legal:
            if g.kind in (NO_TERRITORY_ACTION, SKIP_TERRITORY_PROCESSING):
                return g
        return None
    key = _match_key(s, m)
    for g in legal:
        if g.kind == k and _match_key(s, g) == key:
            return g
    return None
