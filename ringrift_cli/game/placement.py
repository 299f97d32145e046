"""Ring placement (RULES.md 7): legality, generation and effects.

The no-dead-placement rule asks whether the stack that a placement would
create has a move or capture. ``stack_can_act`` answers that for a
hypothetical stack without building it: rays never include the origin
cell, so only the stack's height and cap matter.

Most empty cells have a ray whose first cells are all free, and then every
count up to that length is legal there. ``_open_cells`` finds all of them
at once with whole-board integer operations (``Board.bits``); only the
rest are walked ray by ray.
"""

from __future__ import annotations

from functools import cache

from .moves import MOVEMENT, PLACE_RING, make_move
from .state import EMPTY, MARKER, STACK, GameState


def stack_can_act(s: GameState, c: int, h: int, cap: int) -> bool:
    """True if a stack of height ``h`` and cap ``cap`` at ``c`` would have a
    non-capture move or a capture segment. Stops at the first hit.

    Hot path: written as flat loops on purpose."""
    occ = s.occ
    scap = s.cap
    for ray in s.board.rays[c]:
        n = len(ray)
        k = 0
        while k < n:
            cell = ray[k]
            o = occ[cell]
            if o >= STACK:
                if o == STACK and scap[cell] <= cap:
                    j = k + 1
                    while j < n:
                        if occ[ray[j]] >= STACK:
                            break
                        if j + 1 >= h:
                            return True
                        j += 1
                break
            if k + 1 >= h:
                return True
            k += 1
    return False


def _empty_cell_counts(s: GameState, c: int, maxc: int) -> int:
    """Bit mask of placement counts 1..maxc (bit n) whose fresh stack at the
    empty cell ``c`` could act. Walks each ray at most once."""
    occ = s.occ
    scap = s.cap
    full = (2 << maxc) - 2
    mask = 0
    for ray in s.board.rays[c]:
        n = len(ray)
        r = 0
        while r < n and r < maxc and occ[ray[r]] < STACK:
            r += 1
        if r >= maxc:
            return full
        # Counts up to the free run length can move.
        mask |= (2 << r) - 2
        if r < n and occ[ray[r]] == STACK:
            t = scap[ray[r]]
            if t <= maxc:
                b = 0
                j = r + 1
                while j < n and b < maxc and occ[ray[j]] < STACK:
                    b += 1
                    j += 1
                if b:
                    far = r + 1 + b
                    for cnt in range(max(t, 1), maxc + 1):
                        if far >= cnt:
                            mask |= 1 << cnt
        if mask == full:
            return full
    return mask


def _open_cells(s: GameState, maxc: int) -> int:
    """Cells (as an int) with a ray whose first ``maxc`` cells exist and
    are free (no stack, not collapsed): a fresh stack of up to ``maxc``
    rings there can move, the early exit of ``_empty_cell_counts``."""
    occ_bits = s.occ_bits
    free = occ_bits[EMPTY] | occ_bits[MARKER]
    found = 0
    for k in s.board.move_shifts:
        # Cells whose j-th neighbour along the direction is free, for every
        # j up to maxc. Steps off the board land on places that are no
        # cell and so never free.
        if k > 0:
            run = free >> k
            for j in range(2, maxc + 1):
                run &= free >> (j * k)
        else:
            run = free << -k
            for j in range(2, maxc + 1):
                run &= free << (-j * k)
        found |= run
    return found


@cache
def _placement_table(board, p: int) -> tuple:
    """``table[c][n]``: the placements of 1..n rings of ``p`` at cell ``c``.
    Moves are immutable, so generation hands out these shared ones."""
    return tuple(
        tuple(tuple(make_move(PLACE_RING, p, c, -1, -1, cnt) for cnt in range(1, n + 1)) for n in range(4))
        for c in range(board.cells)
    )


def placement_limit(s: GameState, p: int) -> int:
    """Most rings ``p`` may place this turn on an empty cell (0..3)."""
    room = s.params.rings_per_player - s.on_board[p]
    return max(0, min(s.hand[p], room, 3))


def placement_moves(s: GameState, p: int) -> list:
    """Every legal ``place_ring`` for ``p``, every count, in cell order."""
    maxc = placement_limit(s, p)
    out = []
    if maxc <= 0:
        return out
    board = s.board
    table = _placement_table(board, p)
    bits = board.bits
    open_cells = _open_cells(s, maxc)
    occ = s.occ
    height = s.height
    ctrl = s.ctrl
    cap = s.cap
    for c in range(board.cells):
        o = occ[c]
        if o == EMPTY:
            if open_cells & bits[c]:
                out += table[c][maxc]
                continue
            mask = _empty_cell_counts(s, c, maxc)
            if mask:
                row = table[c][3]
                for cnt in range(1, maxc + 1):
                    if mask >> cnt & 1:
                        out.append(row[cnt - 1])
        elif o == STACK:
            newcap = cap[c] + 1 if ctrl[c] == p else 1
            if stack_can_act(s, c, height[c] + 1, newcap):
                out.append(table[c][1][0])
    return out


def has_any_placement(s: GameState, p: int) -> bool:
    maxc = placement_limit(s, p)
    if maxc <= 0:
        return False
    if s.occ_bits[EMPTY] & _open_cells(s, maxc):
        return True
    occ = s.occ
    for c in range(s.board.cells):
        o = occ[c]
        if o == 0:
            if _empty_cell_counts(s, c, maxc):
                return True
        elif o == STACK:
            newcap = s.cap[c] + 1 if s.ctrl[c] == p else 1
            if stack_can_act(s, c, s.height[c] + 1, newcap):
                return True
    return False


def can_place_on_bare_board(s: GameState, p: int) -> bool:
    """Whether ``p`` (holding rings) could place a single ring somewhere on
    the current board, assuming no stacks (stalemate test, RULES.md 11.3)."""
    if s.hand[p] <= 0:
        return False
    occ = s.occ
    for c in range(s.board.cells):
        if occ[c] == 0 and stack_can_act(s, c, 1, 1):
            return True
    return False


def any_stack_can_act(s: GameState, p: int) -> bool:
    height = s.height
    cap = s.cap
    for c in s.stacks_of[p]:
        if stack_can_act(s, c, height[c], cap[c]):
            return True
    return False


def is_legal_placement(s: GameState, p: int, c: int, count: int) -> bool:
    if c < 0 or count < 1 or count > placement_limit(s, p):
        return False
    o = s.occ[c]
    if o == 0:
        return bool(_empty_cell_counts(s, c, count) >> count & 1)
    if o == STACK and count == 1:
        newcap = s.cap[c] + 1 if s.ctrl[c] == p else 1
        return stack_can_act(s, c, s.height[c] + 1, newcap)
    return False


def apply_placement(s: GameState, p: int, c: int, count: int) -> None:
    old = s.rings[c] or ()
    s.set_stack(c, old + (p,) * count)
    s.hand[p] -= count
    s.on_board[p] += count
    s.phase = MOVEMENT
    s.must_move = c
