"""Applying moves: effects, the phase machine (RULES.md 6.2) and turn ends.

* ``apply_move(state, move)`` – pure: checks legality, returns a new state.
* ``apply_move_inplace(state, move)`` – mutates ``state`` and returns an
  ``Undo`` token; ``undo_move(state, token)`` restores the exact previous
  state (and hash). Tokens must be undone last-in first-out.

With ``validate=False`` the move is applied as given, the way the
reference engines apply a move they are handed (used to run reference
fixtures whose moves name synthetic regions); missing details are filled
in from the phase.
"""

from __future__ import annotations

from typing import NamedTuple

from .elimination import eliminate_cap, eliminate_top, extract_buried_ring
from .errors import IllegalMoveError
from .legal import match_legal
from .lines import collapse_markers, find_lines, line_through
from .movement import apply_capture_segment, apply_stack_move, has_capture_from
from .moves import (
    BOOKKEEPING_TYPES,
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
    RESIGN,
    RING_PLACEMENT,
    SKIP_CAPTURE,
    SKIP_PLACEMENT,
    SKIP_RECOVERY,
    SKIP_TERRITORY_PROCESSING,
    SWAP_SIDES,
    TERRITORY_PROCESSING,
    TIMEOUT,
    Move,
)
from .placement import apply_placement
from .recovery import apply_recovery
from .state import ACTIVE, RECOVERY_OWED, TERR_OWED, GameState
from .territory import find_regions, process_region, processable_regions
from .victory import _finish, check_victory, final_ranks, note_permanent_eliminations, update_lps_at_turn_start


class Undo(NamedTuple):
    """Token returned by ``apply_move_inplace``; pass it to ``undo_move``."""

    log_mark: int
    snapshot: tuple
    # True for the outermost of nested in-place moves: only its undo may drop
    # the change log (an inner move that logged nothing also has log_mark 0).
    opened_log: bool = False


# A named tuple built without its argument handling: a search makes one
# token per move it tries.
_new_undo = tuple.__new__


def apply_move(state: GameState, move: Move, validate: bool = True) -> GameState:
    """The state after ``move``; ``state`` is left unchanged. Raises
    IllegalMoveError when ``validate`` and the move is not legal."""
    if validate:
        move = _canonical(state, move)
    new = state.copy()
    _apply(new, move)
    return new


def apply_move_inplace(state: GameState, move: Move, validate: bool = True, undo: bool = True) -> Undo | None:
    """Apply ``move`` to ``state`` itself. Returns an ``Undo`` token (or
    None when ``undo`` is False, which is faster for straight playouts)."""
    if validate:
        move = _canonical(state, move)
    if not undo:
        state._log = None
        _apply(state, move)
        return None
    log = state._log
    opened_log = log is None
    if opened_log:
        log = state._log = []
    token = _new_undo(Undo, (len(log), state.snapshot(), opened_log))
    _apply(state, move)
    return token


def undo_move(state: GameState, token: Undo) -> None:
    """Restore the state as it was before the move that produced ``token``."""
    state.restore(token.snapshot, token.log_mark)
    if token.opened_log:
        state._log = None


def _canonical(state: GameState, move: Move) -> Move:
    if move.kind in (RESIGN, TIMEOUT) and state.status == ACTIVE:
        return move
    found = match_legal(state, move)
    if found is None:
        raise IllegalMoveError(explain_illegal(state, move))
    return found


def explain_illegal(state: GameState, move: Move) -> str:
    if state.status != ACTIVE:
        return "the game is over"
    if move.player != state.current:
        return f"it is player {state.current}'s turn, not player {move.player}'s"
    return f"{move.kind} is not legal in phase {state.phase} for player {state.current}"


# -- effects and transitions ---------------------------------------------------


def _apply(s: GameState, m: Move) -> None:
    p = m.player
    kind = m.kind
    if kind not in BOOKKEEPING_TYPES:
        s.acted = True
    s.ply += 1
    s.turn_moves += 1
    s.last_actor = p
    turn_over = _DISPATCH[kind](s, m, p)
    if s.status == ACTIVE:
        note_permanent_eliminations(s)
        check_victory(s)
        if turn_over and s.status == ACTIVE:
            end_turn(s)


def _place(s, m, p):
    apply_placement(s, p, m.to, m.count or 1)


def _to_movement(s, m, p):
    s.phase = MOVEMENT


def _swap(s, m, p):
    s.swapped = True


def _move_stack(s, m, p):
    apply_stack_move(s, p, m.frm, m.to)
    if has_capture_from(s, m.to, p):
        s.phase = CAPTURE
        s.chain_pos = m.to
    else:
        _enter_lines(s)


def _capture(s, m, p):
    apply_capture_segment(s, p, m.frm, m.target, m.to)
    if has_capture_from(s, m.to, p):
        s.phase = CHAIN_CAPTURE
        s.chain_pos = m.to
    else:
        _enter_lines(s)


def _enter_lines(s, m=None, p=None):
    s.phase = LINE_PROCESSING
    s.chain_pos = -1


def _recovery(s, m, p):
    apply_recovery(s, m)
    s.had_recovery = True
    _enter_lines(s)


def _line_decision(s, m, p):
    line = m.cells or line_through(s, p, m.to)
    collapse = m.collapse or line
    owes = len(collapse) >= len(line)
    collapse_markers(s, p, collapse)
    if owes and s.stacks_of[p]:
        s.pending_line = True
    elif not find_lines(s, p):
        _leave_lines(s, p)
    return False


def _eliminate(s, m, p):
    context = m.context
    if not context:
        if s.phase == LINE_PROCESSING:
            context = "line"
        elif s.pending_terr == RECOVERY_OWED:
            context = "recovery"
        else:
            context = "territory"
    if s.rings[m.to] is None:
        raise IllegalMoveError("no stack to eliminate from")
    if context == "line":
        eliminate_top(s, m.to, 1, p)
    elif context == "recovery":
        extract_buried_ring(s, m.to, p)
    else:
        eliminate_cap(s, m.to, p)
    if s.phase == LINE_PROCESSING:
        s.pending_line = False
        return False
    s.pending_terr = 0
    if s.phase == TERRITORY_PROCESSING and processable_regions(s, p, s.had_recovery):
        return False
    return _leave_territory(s, p)


def _no_line(s, m, p):
    _leave_lines(s, p)


def _leave_lines(s: GameState, p: int) -> None:
    if processable_regions(s, p, s.had_recovery):
        s.phase = TERRITORY_PROCESSING
    elif s.stacks_of[p] and not s.acted:
        s.phase = FORCED_ELIMINATION
    else:
        s.phase = TERRITORY_PROCESSING


def _region(s, m, p):
    region = tuple(sorted(m.cells)) if m.cells else None
    if region is None:
        for r in find_regions(s):
            if m.to in r:
                region = r
                break
    if region is None:
        # A decision naming no region: the reference treats it as a no-op
        # that closes the phase.
        return _leave_territory(s, p)
    process_region(s, p, region)
    s.pending_terr = RECOVERY_OWED if s.had_recovery else TERR_OWED
    return False


def _end_territory(s, m, p):
    return _leave_territory(s, p)


def _leave_territory(s: GameState, p: int) -> bool:
    """Leave territory processing; True when the turn is over."""
    s.pending_terr = 0
    if s.stacks_of[p] and not s.acted:
        s.phase = FORCED_ELIMINATION
        return False
    return True


def _forced(s, m, p):
    eliminate_cap(s, m.to, p)
    return True


def _resign(s, m, p):
    others = [r.player for r in final_ranks(s) if r.player != p]
    _finish(s, others[0] if others else 0, "resignation" if m.kind == RESIGN else "timeout")


def end_turn(s: GameState) -> None:
    """Pass the turn to the next seat that owns a ring anywhere and start it
    in ``ring_placement`` (RULES.md 6.2 step 9); then LPS tracking."""
    s.turn += 1
    n = s.n
    p = s.current
    for k in range(1, n + 1):
        q = (p - 1 + k) % n + 1
        if s.has_rings_anywhere(q):
            s.current = q
            break
    s.phase = RING_PLACEMENT
    s.must_move = -1
    s.chain_pos = -1
    s.pending_line = False
    s.pending_terr = 0
    s.acted = False
    s.had_recovery = False
    s.turn_moves = 0
    update_lps_at_turn_start(s)


_DISPATCH = {
    PLACE_RING: _place,
    SKIP_PLACEMENT: _to_movement,
    NO_PLACEMENT_ACTION: _to_movement,
    SWAP_SIDES: _swap,
    MOVE_STACK: _move_stack,
    OVERTAKING_CAPTURE: _capture,
    CONTINUE_CAPTURE_SEGMENT: _capture,
    SKIP_CAPTURE: _enter_lines,
    NO_MOVEMENT_ACTION: _enter_lines,
    SKIP_RECOVERY: _enter_lines,
    RECOVERY_SLIDE: _recovery,
    PROCESS_LINE: _line_decision,
    CHOOSE_LINE_OPTION: _line_decision,
    NO_LINE_ACTION: _no_line,
    CHOOSE_TERRITORY_OPTION: _region,
    SKIP_TERRITORY_PROCESSING: _end_territory,
    NO_TERRITORY_ACTION: _end_territory,
    ELIMINATE_RINGS_FROM_STACK: _eliminate,
    FORCED_ELIMINATION_MOVE: _forced,
    RESIGN: _resign,
    TIMEOUT: _resign,
}
