"""Helpers for hand-built positions in the rule tests."""

from __future__ import annotations

import pytest

from ringrift_cli.game import apply_move, legal_moves
from ringrift_cli.game.positions import position


class Pos:
    """Small helper around a state: find and play moves by type and keys."""

    def __init__(self, state):
        self.s = state

    def cell(self, key: str) -> int:
        return self.s.board.cell_of(key)

    def key(self, cell: int) -> str:
        return self.s.board.keys[cell]

    def moves(self, kind: str | None = None) -> list:
        return [m for m in legal_moves(self.s) if kind is None or m.kind == kind]

    def kinds(self) -> set:
        return {m.kind for m in legal_moves(self.s)}

    def find(self, kind: str, **fields):
        cell_fields = ("to", "frm", "target", "extraction")
        want = {k: (self.cell(v) if k in cell_fields and isinstance(v, str) else v) for k, v in fields.items()}
        found = [m for m in self.moves(kind) if all(getattr(m, k) == v for k, v in want.items())]
        return found

    def play(self, kind: str, **fields) -> Pos:
        found = self.find(kind, **fields)
        assert len(found) >= 1, f"no legal {kind} {fields}; legal: {self.moves()}"
        self.s = apply_move(self.s, found[0])
        return self

    def stack(self, key: str):
        return self.s.rings[self.cell(key)]

    def marker(self, key: str) -> int:
        return self.s.marker[self.cell(key)]

    def collapsed(self, key: str) -> int:
        return self.s.collapsed[self.cell(key)]


@pytest.fixture
def build():
    def _build(board="square8", players=2, **kw):
        return Pos(position(board, players, **kw))

    return _build
