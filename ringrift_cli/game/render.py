"""Plain-text board pictures for terminals.

Legend (one 3-character cell each): ``A3`` a stack controlled by player A
(1) of height 3; ``a`` a marker of player 1; ``#a`` a collapsed cell owned
by player 1; ``.`` an empty cell. Players 1-4 are A-D / a-d. Square boards
print row y=0 first with x increasing to the right; hex boards print one
row per y, shifted so that neighbours line up.
"""

from __future__ import annotations

from .state import GameState

_UPPER = " ABCD"
_LOWER = " abcd"


def cell_text(s: GameState, c: int) -> str:
    if s.rings[c] is not None:
        return f"{_UPPER[s.ctrl[c]]}{s.height[c]}".ljust(3)
    if s.collapsed[c]:
        return f"#{_LOWER[s.collapsed[c]]} "
    if s.marker[c]:
        return f" {_LOWER[s.marker[c]]} "
    return " . "


def render_board(s: GameState) -> str:
    """The board alone, as lines of text."""
    b = s.board
    lines = []
    if not b.is_hex:
        lines.append("    " + "".join(f"{x:<3}" for x in range(b.size)))
        for y in range(b.size):
            row = "".join(cell_text(s, b.cell_at(x, y)) for x in range(b.size))
            lines.append(f"{y:>3} {row.rstrip()}")
        return "\n".join(lines)
    r = b.radius
    for y in range(-r, r + 1):
        xs = range(max(-r, -y - r), min(r, -y + r) + 1)
        row = " ".join(cell_text(s, b.cell_at(x, y)) for x in xs)
        lines.append(f"{y:>3} " + " " * (2 * abs(y)) + row.rstrip())
    return "\n".join(lines)


def render_status(s: GameState) -> str:
    """One line per player (hand, eliminated, territory) and who is to move."""
    out = []
    for p in range(1, s.n + 1):
        out.append(
            f"{_UPPER[p]}/{_LOWER[p]} player {p}: in hand {s.hand[p]}, eliminated {s.elim[p]}, "
            f"territory {s.territory[p]}"
        )
    if s.status == "active":
        out.append(f"player {s.current} to move, phase {s.phase}")
    else:
        out.append(f"game over: winner {s.winner or 'none'} ({s.victory_reason})")
    return "\n".join(out)


def render(s: GameState) -> str:
    """Board picture followed by the status lines."""
    return render_board(s) + "\n" + render_status(s)
