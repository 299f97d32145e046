"""The canonical texts of the reference random-game records
(conformance/reference-games/README.md): a move's key, the board text
behind ``board_sha1``, and the short SHA-1 both are compared by.

These let a replay compare our legal-move set and our position with a
record ply by ply without converting the record into our moves.
"""

from __future__ import annotations

import hashlib
from functools import cache
from itertools import chain

from .boards import Board
from .moves import (
    BOOKKEEPING_TYPES,
    CHOOSE_LINE_OPTION,
    CHOOSE_TERRITORY_OPTION,
    PROCESS_LINE,
    RECOVERY_SLIDE,
    SWAP_SIDES,
    Move,
)
from .state import GameState

# Types whose ``to`` is a placeholder (every bookkeeping move, the pie
# rule) or an arbitrary cell of the line or region, so the key leaves it out.
_NO_TO = BOOKKEEPING_TYPES | {SWAP_SIDES, PROCESS_LINE, CHOOSE_LINE_OPTION, CHOOSE_TERRITORY_OPTION}


def sha16(text: str) -> str:
    """First 16 hex digits of the SHA-1 of ``text``."""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _cells(keys: tuple, cells) -> str:
    return ";".join(sorted(keys[c] for c in cells))


def move_key(s: GameState, m: Move) -> str:
    """The record's key of ``m`` (a move of the position ``s``)."""
    keys = s.board.keys
    kind = m.kind
    parts = [kind]
    if m.frm >= 0:
        parts.append("from=" + keys[m.frm])
    if m.to >= 0 and kind not in _NO_TO:
        parts.append("to=" + keys[m.to])
    if m.target >= 0:
        parts.append("cap=" + keys[m.target])
    if m.count:
        parts.append(f"n={m.count}")
    if kind in (PROCESS_LINE, CHOOSE_LINE_OPTION):
        parts.append("lines=" + _cells(keys, m.cells))
        if kind == CHOOSE_LINE_OPTION:
            parts.append("collapse=" + _cells(keys, m.collapse))
    elif kind == CHOOSE_TERRITORY_OPTION:
        parts.append("regions=" + _cells(keys, m.cells))
    if m.context:
        parts.append("ctx=" + m.context)
    if kind == RECOVERY_SLIDE:
        if m.option:
            parts.append(f"ropt={m.option}")
        parts.append("rmode=" + m.mode)
        if m.option == 2:
            parts.append("rcollapse=" + _cells(keys, m.collapse))
        if m.extraction >= 0:
            parts.append("extract=" + keys[m.extraction])
    return "|".join(parts)


@cache
def _board_tables(board: Board) -> tuple:
    """The cells in the order of their position keys sorted as strings,
    each cell's rank in it, and the ``key=owner`` text of each cell and
    owner (owners 1..4)."""
    order = tuple(sorted(range(board.cells), key=board.keys.__getitem__))
    rank = [0] * board.cells
    for i, c in enumerate(order):
        rank[c] = i
    owned = tuple(tuple(f"{k}={p}" for p in range(5)) for k in board.keys)
    return order, tuple(rank), owned


def board_text(s: GameState) -> str:
    """``S:<stacks>|M:<markers>|C:<collapsed>`` with position keys sorted
    as strings and rings bottom to top. It runs after every ply of a
    replay: stacks and markers are few and sorted from their sets;
    collapsed cells only grow, so they are read in key order."""
    board = s.board
    keys = board.keys
    order, rank, owned = _board_tables(board)
    by_key = rank.__getitem__
    rings, marker, collapsed = s.rings, s.marker, s.collapsed
    stacks = sorted(chain.from_iterable(s.stacks_of), key=by_key)
    markers = sorted(chain.from_iterable(s.markers_of), key=by_key)
    return (
        "S:"
        + ";".join([keys[c] + "=" + ".".join(map(str, rings[c])) for c in stacks])
        + "|M:"
        + ";".join([owned[c][marker[c]] for c in markers])
        + "|C:"
        + ";".join([owned[c][collapsed[c]] for c in order if collapsed[c]])
    )


def board_sha(s: GameState) -> str:
    return sha16(board_text(s))
