"""Removing rings from the game and crediting them (RULES.md 11.2).

Every elimination updates the three reference counters together: the
credited player's ``elim``, the per-board ``board_elim`` map and
``total_elim``; the ring's own colour loses one ring ``on_board``.
"""

from __future__ import annotations

from .state import GameState


def _credit(s: GameState, credited: int, colours) -> None:
    n = 0
    on_board = s.on_board
    for colour in colours:
        on_board[colour] -= 1
        n += 1
    s.elim[credited] += n
    s.board_elim[credited] += n
    s.total_elim += n


def eliminate_top(s: GameState, c: int, count: int, credited: int) -> None:
    """Remove the top ``count`` rings of the stack at ``c`` (all of it when
    count >= height)."""
    rings = s.rings[c]
    count = min(count, len(rings))
    _credit(s, credited, rings[len(rings) - count :])
    s.set_stack(c, rings[: len(rings) - count] or None)


def eliminate_cap(s: GameState, c: int, credited: int) -> None:
    """Remove the whole cap of the stack at ``c``."""
    eliminate_top(s, c, s.cap[c], credited)


def has_buried_ring(rings: tuple, p: int) -> bool:
    """True when some ring other than the top one belongs to ``p``."""
    return p in rings[:-1]


def extract_buried_ring(s: GameState, c: int, p: int) -> None:
    """Remove ``p``'s bottom-most ring from the stack at ``c`` (a recovery
    cost); it is eliminated and credited to ``p``."""
    rings = s.rings[c]
    i = rings.index(p)
    _credit(s, p, (p,))
    s.set_stack(c, (rings[:i] + rings[i + 1 :]) or None)


def stacks_with_buried_ring(s: GameState, p: int, exclude=()) -> list:
    """Cells of stacks holding a buried ring of ``p``, in cell order."""
    out = []
    for c, rings in enumerate(s.rings):
        if rings is not None and p in rings[:-1] and c not in exclude:
            out.append(c)
    return out


def has_any_buried_ring(s: GameState, p: int) -> bool:
    for rings in s.rings:
        if rings is not None and p in rings[:-1]:
            return True
    return False
