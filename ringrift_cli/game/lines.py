"""Marker lines (RULES.md 9): detection, decision moves and their effects."""

from __future__ import annotations

from .moves import CHOOSE_LINE_OPTION, ELIMINATE_RINGS_FROM_STACK, PROCESS_LINE, make_move
from .state import GameState


def find_lines(s: GameState, p: int, min_length: int | None = None) -> list:
    """Maximal runs of ``p``'s markers along a line axis with at least
    ``min_length`` (default: the game's line length L) cells. Each line is
    a tuple of cells from its minus end; lines may share cells."""
    need = s.params.line_length if min_length is None else min_length
    mine = s.markers_of[p]
    if len(mine) < need:
        return []
    marker = s.marker
    out = []
    for axis_next, axis_prev in zip(s.board.line_next, s.board.line_prev):
        for c in mine:
            prev = axis_prev[c]
            if prev >= 0 and marker[prev] == p:
                continue
            run = [c]
            nxt = axis_next[c]
            while nxt >= 0 and marker[nxt] == p:
                run.append(nxt)
                nxt = axis_next[nxt]
            if len(run) >= need:
                out.append(tuple(run))
    out.sort()
    return out


def line_through(s: GameState, p: int, c: int) -> tuple:
    """The first (in axis order) line of ``p`` of length >= L through ``c``,
    or ``()``."""
    marker = s.marker
    need = s.params.line_length
    for axis_next, axis_prev in zip(s.board.line_next, s.board.line_prev):
        start = c
        prev = axis_prev[start]
        while prev >= 0 and marker[prev] == p:
            start = prev
            prev = axis_prev[start]
        run = [start]
        nxt = axis_next[start]
        while nxt >= 0 and marker[nxt] == p:
            run.append(nxt)
            nxt = axis_next[nxt]
        if len(run) >= need:
            return tuple(run)
    return ()


def windows(line: tuple, length: int) -> list:
    return [line[i : i + length] for i in range(len(line) - length + 1)]


def line_decision_moves(s: GameState, p: int) -> list:
    """``process_line`` for each exact-length line; for each longer line a
    ``choose_line_option`` collapsing it all and one per L-window."""
    L = s.params.line_length
    out = []
    for line in find_lines(s, p):
        if len(line) == L:
            out.append(make_move(PROCESS_LINE, p, line[0], cells=line, collapse=line))
        else:
            out.append(make_move(CHOOSE_LINE_OPTION, p, line[0], cells=line, collapse=line))
            for w in windows(line, L):
                out.append(make_move(CHOOSE_LINE_OPTION, p, line[0], cells=line, collapse=w))
    return out


def line_elimination_moves(s: GameState, p: int) -> list:
    return [make_move(ELIMINATE_RINGS_FROM_STACK, p, c, context="line") for c in sorted(s.stacks_of[p])]


def collapse_markers(s: GameState, p: int, cells) -> None:
    """Turn the given markers into ``p``'s territory."""
    for c in cells:
        s.set_marker(c, 0)
        s.set_collapsed(c, p)
    s.territory[p] += len(cells)
