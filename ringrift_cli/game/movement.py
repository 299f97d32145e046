"""Stack movement and overtaking capture (RULES.md 8.2-8.4).

Generation walks the precomputed rays of ``boards.py``; a ray ends at the
first stack (a possible capture target) or collapsed cell.
"""

from __future__ import annotations

from .elimination import eliminate_top
from .moves import MOVE_STACK, OVERTAKING_CAPTURE, make_move
from .state import STACK, GameState


def stack_moves(s: GameState, c: int, p: int, out: list, capture_kind: str = OVERTAKING_CAPTURE) -> None:
    """Append every ``move_stack`` and capture segment of the stack at ``c``
    (controlled by ``p``) to ``out``. Hot path."""
    occ = s.occ
    scap = s.cap
    h = s.height[c]
    mycap = s.cap[c]
    for ray in s.board.rays[c]:
        n = len(ray)
        k = 0
        while k < n:
            cell = ray[k]
            o = occ[cell]
            if o >= STACK:
                if o == STACK and scap[cell] <= mycap:
                    j = k + 1
                    while j < n:
                        land = ray[j]
                        if occ[land] >= STACK:
                            break
                        if j + 1 >= h:
                            out.append(make_move(capture_kind, p, land, c, cell))
                        j += 1
                break
            if k + 1 >= h:
                out.append(make_move(MOVE_STACK, p, cell, c))
            k += 1


def capture_moves(s: GameState, c: int, p: int, kind: str, out: list) -> None:
    """Append every capture segment starting at ``c`` (only if ``p``
    controls the stack there)."""
    for target, land in capture_landings(s, c, p):
        out.append(make_move(kind, p, land, c, target))


def has_capture_from(s: GameState, c: int, p: int) -> bool:
    return next(capture_landings(s, c, p), None) is not None


def capture_landings(s: GameState, c: int, p: int):
    """Yield (target, landing) of every capture segment from ``c`` by ``p``:
    along each ray the first stack is the target if its cap is no taller
    than ours, and any empty-or-marker cell beyond it, up to the next stack,
    is a landing once the whole jump covers at least our stack height."""
    if s.ctrl[c] != p:
        return
    occ = s.occ
    scap = s.cap
    h = s.height[c]
    mycap = s.cap[c]
    for ray in s.board.rays[c]:
        n = len(ray)
        k = 0
        while k < n and occ[ray[k]] < STACK:
            k += 1
        if k >= n:
            continue
        cell = ray[k]
        if occ[cell] != STACK or scap[cell] > mycap:
            continue
        j = k + 1
        while j < n:
            land = ray[j]
            if occ[land] >= STACK:
                break
            if j + 1 >= h:
                yield cell, land
            j += 1


def _path(s: GameState, src: int, dst: int) -> tuple:
    """Cells strictly between src and dst on their common ray; ValueError
    when there is none (a move applied unchecked)."""
    try:
        return s.board.between(src, dst)
    except KeyError:
        raise ValueError(f"{s.board.keys[dst]} is not in line with {s.board.keys[src]}") from None


def _process_markers(s: GameState, p: int, cells) -> None:
    """Flip opponents' markers, collapse the mover's own (RULES.md 8.2)."""
    marker = s.marker
    for cell in cells:
        m = marker[cell]
        if m:
            if m != p:
                s.set_marker(cell, p)
            else:
                s.set_marker(cell, 0)
                s.set_collapsed(cell, p)
                s.territory[p] += 1


def _land(s: GameState, p: int, dst: int, rings: tuple) -> None:
    if s.marker[dst]:
        s.set_marker(dst, 0)
        s.set_stack(dst, rings)
        eliminate_top(s, dst, 1, p)
    else:
        s.set_stack(dst, rings)


def apply_stack_move(s: GameState, p: int, src: int, dst: int) -> None:
    rings = s.rings[src]
    between = _path(s, src, dst)
    s.set_stack(src, None)
    s.set_marker(src, p)
    _process_markers(s, p, between)
    _land(s, p, dst, rings)
    if s.must_move == src:
        s.must_move = dst


def apply_capture_segment(s: GameState, p: int, src: int, target: int, dst: int) -> None:
    rings = s.rings[src]
    before = _path(s, src, target)
    after = _path(s, target, dst)
    s.set_stack(src, None)
    s.set_marker(src, p)
    _process_markers(s, p, before)
    _process_markers(s, p, after)
    trings = s.rings[target]
    s.set_stack(target, trings[:-1] or None)
    _land(s, p, dst, (trings[-1],) + rings)
    if s.must_move == src:
        s.must_move = dst


def is_legal_capture(s: GameState, p: int, src: int, target: int, dst: int) -> bool:
    """Segment legality from the board alone (RULES.md 8.3)."""
    if src < 0 or target < 0 or dst < 0 or s.ctrl[src] != p:
        return False
    d = s.board.direction_between(src, dst)
    if d < 0:
        return False
    ray = s.board.rays[src][d]
    if target not in ray or dst not in ray:
        return False
    ti = ray.index(target)
    di = ray.index(dst)
    if di <= ti or di + 1 < s.height[src]:
        return False
    occ = s.occ
    if occ[target] != STACK or s.cap[target] > s.cap[src]:
        return False
    return all(occ[ray[k]] < STACK for k in range(di + 1) if k != ti)
