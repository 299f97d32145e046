"""The game state: compact per-cell arrays, per-player counters, turn flags.

A ``GameState`` is a value: ``==`` compares the full position (board,
counters, phase, turn flags) and ``state_hash()`` is equal for equal
states. It is mutable only through the engine (``apply.py``); the public
``apply_move`` copies first, ``apply_move_inplace`` mutates and returns an
undo token.

Representation (T = board cells, N = players; per-player lists are indexed
1..N, index 0 unused):

* ``rings[c]`` – tuple of ring owners **bottom to top** (last = top =
  controller), or ``None``; ``height``, ``ctrl`` (0 = no stack), ``cap``
  mirror it for speed.
* ``marker[c]``, ``collapsed[c]`` – owning player or 0.
* ``occ[c]`` – EMPTY, MARKER, STACK or COLLAPSED; ray walks stop at
  ``occ >= STACK``.
* ``hand``, ``elim`` (eliminated rings credited to the player),
  ``board_elim`` (the reference's per-board map, kept separately because
  reference states need not agree), ``territory``, ``on_board`` (rings of
  the player's colour on the board), ``marker_count``; ``stacks_of[p]`` and
  ``markers_of[p]`` are sets of cells.
* ``occ_bits[o]`` – the cells whose ``occ`` is ``o`` and ``marker_bits[p]``
  – the cells whose ``marker`` is ``p`` (0: no marker), as ints in the
  board's bit layout (``Board.bits``), for whole-board tests in a few
  integer operations (territory regions, placement).
* Turn flags replace the reference's move-history look-ups:
  ``must_move`` (cell or -1), ``chain_pos`` (landing cell while a capture
  may continue, or -1), ``pending_line`` (a line elimination is owed),
  ``pending_terr`` (0, or TERR_OWED / RECOVERY_OWED after a region),
  ``acted`` (the mover made a non-bookkeeping move this turn),
  ``had_recovery`` (this turn contained a recovery slide).

All board changes go through ``set_stack``, ``set_marker`` and
``set_collapsed``; they keep the mirrors and the Zobrist ``board_hash``
in step and, when ``_log`` is a list, record what they overwrote so that
``undo`` can restore it.
"""

from __future__ import annotations

import operator
import random

from .boards import Board, board_for
from .moves import PHASES, RING_PLACEMENT
from .rules import DEFAULT_OPTIONS, GameParams, RulesOptions, params_for

EMPTY, MARKER, STACK, COLLAPSED = 0, 1, 2, 3
ACTIVE, COMPLETED = "active", "completed"
TERR_OWED, RECOVERY_OWED = 1, 2

_ZOBRIST_SEED = 0x5EED_2196

_STABLE_CODES = {
    name: i
    for i, name in enumerate(
        PHASES
        + (ACTIVE, COMPLETED, "")
        + ("ring_elimination", "territory_control", "last_player_standing", "game_completed", "resignation", "timeout")
        + ("square8", "square19", "hex8", "hexagonal")
    )
}


def _zobrist_table(cells: int, salt: int) -> tuple:
    rng = random.Random(_ZOBRIST_SEED + salt * 7919 + cells)
    return tuple(tuple(rng.getrandbits(63) for _ in range(5)) for _ in range(cells))


_ZOBRIST: dict = {}


def zobrist_tables(board: Board) -> tuple:
    """(marker, collapsed) key tables for a board: ``t[cell][player]``."""
    tables = _ZOBRIST.get(board.board_type)
    if tables is None:
        tables = (_zobrist_table(board.cells, 1), _zobrist_table(board.cells, 2))
        _ZOBRIST[board.board_type] = tables
    return tables


def stack_key(cell: int, rings: tuple) -> int:
    # Tuples of ints hash deterministically in CPython (no per-process salt).
    return hash((cell, rings))


def cap_of(rings: tuple) -> int:
    top = rings[-1]
    n = len(rings)
    k = 1
    while k < n and rings[n - 1 - k] == top:
        k += 1
    return k


_SCALARS = (
    "current",
    "phase",
    "status",
    "winner",
    "victory_reason",
    "must_move",
    "chain_pos",
    "pending_line",
    "pending_terr",
    "acted",
    "had_recovery",
    "turn",
    "turn_moves",
    "swapped",
    "last_actor",
    "total_elim",
    "ply",
    "lps_first",
    "lps_mask",
    "lps_excl",
    "lps_count",
)
_PLAYER_LISTS = ("hand", "elim", "board_elim", "territory", "on_board", "perm_elim")
_get_scalars = operator.attrgetter(*_SCALARS)


class GameState:
    __slots__ = (
        "board",
        "params",
        "options",
        "n",
        "rings",
        "height",
        "ctrl",
        "cap",
        "marker",
        "collapsed",
        "occ",
        "hand",
        "elim",
        "board_elim",
        "territory",
        "on_board",
        "marker_count",
        "stacks_of",
        "markers_of",
        "occ_bits",
        "marker_bits",
        "perm_elim",
        "board_hash",
        "_log",
        "_regions",
        "_zm",
        "_zc",
        "_bits",
    ) + _SCALARS

    # -- construction -----------------------------------------------------

    @classmethod
    def empty(
        cls, board_type: str, players: int, options: RulesOptions = DEFAULT_OPTIONS, params: GameParams | None = None
    ) -> GameState:
        """A state with an empty board, nobody's rings in hand, player 1 to
        move in ``ring_placement``; loaders and ``initial_state`` fill it."""
        s = cls.__new__(cls)
        board = board_for(board_type)
        s.board = board
        s.options = options
        s.params = params or params_for(board_type, players, options)
        s.n = players
        t = board.cells
        s.rings = [None] * t
        s.height = [0] * t
        s.ctrl = [0] * t
        s.cap = [0] * t
        s.marker = [0] * t
        s.collapsed = [0] * t
        s.occ = [EMPTY] * t
        m = players + 1
        s.hand = [0] * m
        s.elim = [0] * m
        s.board_elim = [0] * m
        s.territory = [0] * m
        s.on_board = [0] * m
        s.marker_count = [0] * m
        s.perm_elim = [-1] * m
        s.stacks_of = [set() for _ in range(m)]
        s.markers_of = [set() for _ in range(m)]
        s.occ_bits = [board.all_bits, 0, 0, 0]
        s.marker_bits = [board.all_bits] + [0] * players
        s.board_hash = 0
        s._log = None
        s._regions = {}
        s._zm, s._zc = zobrist_tables(board)
        s._bits = board.bits
        s.current = 1
        s.phase = RING_PLACEMENT
        s.status = ACTIVE
        s.winner = 0
        s.victory_reason = ""
        s.must_move = -1
        s.chain_pos = -1
        s.pending_line = False
        s.pending_terr = 0
        s.acted = False
        s.had_recovery = False
        s.turn = 0
        s.turn_moves = 0
        s.swapped = False
        s.last_actor = 0
        s.total_elim = 0
        s.ply = 0
        s.lps_first = 0
        s.lps_mask = (-1,) * m
        s.lps_excl = 0
        s.lps_count = 0
        return s

    def copy(self) -> GameState:
        """An independent copy (no undo log)."""
        s = GameState.__new__(GameState)
        s.board = self.board
        s.params = self.params
        s.options = self.options
        s.n = self.n
        s.rings = self.rings[:]
        s.height = self.height[:]
        s.ctrl = self.ctrl[:]
        s.cap = self.cap[:]
        s.marker = self.marker[:]
        s.collapsed = self.collapsed[:]
        s.occ = self.occ[:]
        s.hand = self.hand[:]
        s.elim = self.elim[:]
        s.board_elim = self.board_elim[:]
        s.territory = self.territory[:]
        s.on_board = self.on_board[:]
        s.marker_count = self.marker_count[:]
        s.perm_elim = self.perm_elim[:]
        s.stacks_of = [set(x) for x in self.stacks_of]
        s.markers_of = [set(x) for x in self.markers_of]
        s.occ_bits = self.occ_bits[:]
        s.marker_bits = self.marker_bits[:]
        s.board_hash = self.board_hash
        s._log = None
        s._regions = self._regions
        s._zm = self._zm
        s._zc = self._zc
        s._bits = self._bits
        s._set_scalars(_get_scalars(self))
        return s

    # -- board primitives (the only writers of per-cell arrays) ---------------

    def set_stack(self, c: int, rings: tuple | None) -> None:
        old = self.rings[c]
        if self._log is not None:
            self._log.append((0, c, old))
        if old is not None:
            self.board_hash ^= stack_key(c, old)
            self.stacks_of[old[-1]].discard(c)
        occ = self.occ
        was = occ[c]
        if rings:
            top = rings[-1]
            self.rings[c] = rings
            self.height[c] = len(rings)
            self.ctrl[c] = top
            self.cap[c] = cap_of(rings)
            now = STACK
            self.stacks_of[top].add(c)
            self.board_hash ^= stack_key(c, rings)
        else:
            self.rings[c] = None
            self.height[c] = 0
            self.ctrl[c] = 0
            self.cap[c] = 0
            now = COLLAPSED if self.collapsed[c] else MARKER if self.marker[c] else EMPTY
        if now != was:
            occ[c] = now
            bit = self._bits[c]
            occ_bits = self.occ_bits
            occ_bits[was] ^= bit
            occ_bits[now] ^= bit

    def set_marker(self, c: int, player: int) -> None:
        old = self.marker[c]
        if old == player:
            return
        if self._log is not None:
            self._log.append((1, c, old))
        bit = self._bits[c]
        marker_bits = self.marker_bits
        marker_bits[old] ^= bit
        marker_bits[player] ^= bit
        if old:
            self.board_hash ^= self._zm[c][old]
            self.marker_count[old] -= 1
            self.markers_of[old].discard(c)
        self.marker[c] = player
        occ = self.occ
        was = occ[c]
        if player:
            self.board_hash ^= self._zm[c][player]
            self.marker_count[player] += 1
            self.markers_of[player].add(c)
            now = MARKER
        elif was == MARKER:
            now = EMPTY
        else:
            return
        if now != was:
            occ[c] = now
            occ_bits = self.occ_bits
            occ_bits[was] ^= bit
            occ_bits[now] ^= bit

    def set_collapsed(self, c: int, player: int) -> None:
        old = self.collapsed[c]
        if old == player:
            return
        if self._log is not None:
            self._log.append((2, c, old))
        if old:
            self.board_hash ^= self._zc[c][old]
        self.collapsed[c] = player
        occ = self.occ
        was = occ[c]
        if player:
            self.board_hash ^= self._zc[c][player]
            now = COLLAPSED
        else:
            now = STACK if self.rings[c] else MARKER if self.marker[c] else EMPTY
        if now != was:
            occ[c] = now
            bit = self._bits[c]
            occ_bits = self.occ_bits
            occ_bits[was] ^= bit
            occ_bits[now] ^= bit

    # -- undo ------------------------------------------------------------------

    def snapshot(self) -> tuple:
        """Everything that is not a per-cell array, for ``restore``."""
        # One C-level getter call and six short slices: this runs before
        # every in-place move of a tree search.
        return (
            _get_scalars(self),
            self.hand[:],
            self.elim[:],
            self.board_elim[:],
            self.territory[:],
            self.on_board[:],
            self.perm_elim[:],
        )

    def restore(self, snap: tuple, log_mark: int) -> None:
        log = self._log
        self._log = None
        while len(log) > log_mark:
            kind, c, old = log.pop()
            if kind == 0:
                self.set_stack(c, old)
            elif kind == 1:
                self.set_marker(c, old)
            else:
                self.set_collapsed(c, old)
        self._log = log
        # The snapshot's list copies are not shared with anything else, so
        # the state can take them over instead of copying them back.
        scalars, self.hand, self.elim, self.board_elim, self.territory, self.on_board, self.perm_elim = snap
        self._set_scalars(scalars)

    def _set_scalars(self, values: tuple) -> None:
        # ``values`` is in _SCALARS order (a test in
        # tests/game/test_undo_and_caches.py checks that this list matches
        # it); one unpacking assignment is several times faster than a
        # setattr loop.
        (
            self.current,
            self.phase,
            self.status,
            self.winner,
            self.victory_reason,
            self.must_move,
            self.chain_pos,
            self.pending_line,
            self.pending_terr,
            self.acted,
            self.had_recovery,
            self.turn,
            self.turn_moves,
            self.swapped,
            self.last_actor,
            self.total_elim,
            self.ply,
            self.lps_first,
            self.lps_mask,
            self.lps_excl,
            self.lps_count,
        ) = values

    # -- queries ---------------------------------------------------------------

    @property
    def stack_count(self) -> int:
        return sum(len(x) for x in self.stacks_of)

    @property
    def total_markers(self) -> int:
        return sum(self.marker_count)

    @property
    def collapsed_count(self) -> int:
        return sum(1 for v in self.collapsed if v)

    def has_rings_anywhere(self, p: int) -> bool:
        return self.hand[p] > 0 or self.on_board[p] > 0

    def is_over(self) -> bool:
        return self.status != ACTIVE

    def _identity(self) -> tuple:
        scalars = tuple(getattr(self, name) for name in _SCALARS if name != "ply")
        lists = tuple(tuple(getattr(self, name)) for name in _PLAYER_LISTS)
        return (
            self.board.board_type,
            self.n,
            self.params,
            self.options,
            self.board_hash,
            tuple(self.rings),
            tuple(self.marker),
            tuple(self.collapsed),
            scalars,
            lists,
        )

    def state_hash(self) -> int:
        """64-bit hash of the position: equal states give equal hashes.

        Built from the incrementally kept Zobrist ``board_hash`` and the
        non-board fields; the move counter ``ply`` is left out so that
        transpositions reached by different move orders match."""
        # Strings hash differently in every process; map them to fixed
        # numbers so that the hash is stable across runs.
        scalars = tuple(
            _STABLE_CODES.get(v, -1) if isinstance(v, str) else v
            for name, v in ((n, getattr(self, n)) for n in _SCALARS)
            if name != "ply"
        )
        lists = tuple(tuple(getattr(self, name)) for name in _PLAYER_LISTS)
        board_code = _STABLE_CODES[self.board.board_type]
        return hash((self.board_hash, board_code, self.n, scalars, lists)) & 0xFFFF_FFFF_FFFF_FFFF

    def __hash__(self) -> int:
        return self.state_hash()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GameState):
            return NotImplemented
        return self._identity() == other._identity()

    def __repr__(self) -> str:
        return (
            f"GameState({self.board.board_type}, {self.n}p, player {self.current}, "
            f"{self.phase}, {self.status}, ply {self.ply})"
        )
