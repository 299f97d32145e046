"""The policy space: which network outputs stand for which legal moves.

Every board has one ``PolicyLayout``: ``channels`` spatial channels laid
over the board's grid (see ``Grid``) and flattened channel-major, followed
by ``extra`` slots for moves that name no cell::

    index = channel * H * W + row * W + col        (spatial part)
    index = channels * H * W + slot                (extra part)

A move maps to a small *set* of indices (``move_indices`` returns a tuple;
one index for most moves). Within one position the sets of distinct legal
moves are disjoint, except for the recovery sub-choices described below, so
an index names one legal move of the position and ``moves_for_index`` finds
it again among ``legal_moves(state)``.

Channels (D movement directions, M the longest ray, A line axes; see
``docs/encoding.md`` for the sizes):

* ``place/1..3`` at the target cell: ``place_ring`` with that ring count.
* ``move/d/k`` at the origin: a stack moving k cells along direction d —
  ``move_stack``, ``overtaking_capture`` and ``continue_capture_segment``
  (the landing distance; a ray's capture target is its first stack, so a
  landing before it is a move and one beyond it a capture), and the one-step
  marker ``recovery_slide``.
* ``line/+elim/a/*`` and ``line/window/a/*``: a run of markers to collapse,
  keyed by its centre on axis a (below). ``+elim`` holds the collapses that
  owe a ring (``process_line``, option 1 of ``choose_line_option``);
  ``window`` those that do not (option 2 windows, and the window of a
  recovery slide in option 2).
* ``territory/k`` (k = 0..4): ``choose_territory_option``, one index per
  region cell (below).
* ``elim/line`` (top ring), ``elim/cap`` (territory: whole cap),
  ``extract`` (a buried ring: recovery-context eliminations and the
  extraction stack of a recovery slide), ``forced`` (``forced_elimination``),
  all at the stack's cell.
* Extra slots, one per move type without a cell: ``EXTRA_TYPES``.

Segments. A run of markers along axis a is identified by its centre: for
an odd length its middle cell, channel ``odd``; for an even length the two
middle cells u, v (v one step along +a from u), as the pair of indices
(u, ``plus``) and (v, ``minus``). The key is unique — two runs of one kind
with the same centre and axis are the same run — and it moves with the
board under every symmetry, which a "first cell in board order" key does
not.

Territory. Regions offered in one position may overlap (each marker colour
and the collapsed-only search find their own components; a quarter to a
third of multi-region decisions on square8 contain nested or crossing
regions). A region claims, at each of its cells c, the channel
``territory/k`` where k counts the offered regions containing c that come
before it in ``_region_key`` order; a cell shared with a region of equal key
is claimed by neither (no symmetric choice exists). At most N+1 regions
contain a cell (one per search), so 5 channels suffice.

Recovery. A recovery slide is ``move/d/1`` at the marker's origin. When the
same slide is offered in several variants (extraction stacks, option 1 and
option 2 windows), each variant adds the index of its sub-choice: its
extraction stack (``extract``) or its window (``line/window``). Variant
sets of one slide then share the slide's index: no index that is both
unique and symmetric exists for a (slide, stack) pair short of a channel
per relative offset. Consumers must therefore split an index's
probability evenly among the moves claiming it (``move_priors``) and add
up repeated indices in targets (``policy_target``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..game import GameState, Move, board_for, legal_moves
from ..game.moves import (
    CHOOSE_LINE_OPTION,
    CHOOSE_TERRITORY_OPTION,
    CONTINUE_CAPTURE_SEGMENT,
    ELIMINATE_RINGS_FROM_STACK,
    FORCED_ELIMINATION_MOVE,
    MOVE_STACK,
    NO_LINE_ACTION,
    NO_MOVEMENT_ACTION,
    NO_PLACEMENT_ACTION,
    NO_TERRITORY_ACTION,
    OVERTAKING_CAPTURE,
    PLACE_RING,
    PROCESS_LINE,
    RECOVERY_SLIDE,
    SKIP_CAPTURE,
    SKIP_PLACEMENT,
    SKIP_RECOVERY,
    SKIP_TERRITORY_PROCESSING,
    SWAP_SIDES,
    LINE_PROCESSING,
)
from ..game.state import RECOVERY_OWED

# Move types without a cell, in extra-slot order.
EXTRA_TYPES = (
    SKIP_PLACEMENT,
    NO_PLACEMENT_ACTION,
    SWAP_SIDES,
    SKIP_CAPTURE,
    NO_MOVEMENT_ACTION,
    SKIP_RECOVERY,
    NO_LINE_ACTION,
    SKIP_TERRITORY_PROCESSING,
    NO_TERRITORY_ACTION,
)
TERRITORY_RANKS = 5  # at most 4 marker colours + the collapsed-only search
SEGMENT_KINDS = ("odd", "plus", "minus")
_ELIM_CHANNEL = {"line": 0, "territory": 1, "recovery": 2}


@dataclass(frozen=True, eq=False)
class Grid:
    """Where board cells sit on the H x W grid the network sees.

    Square boards: row y, column x. Hex boards: the (x, y) part of the cube
    coordinate shifted by the radius (row y + r, column x + r); the grid
    cells outside the hexagon are padding (``valid`` False)."""

    board_type: str
    height: int
    width: int
    flat: tuple  # board cell -> row * W + col
    flat_array: np.ndarray  # the same, int64
    valid: np.ndarray  # bool [H * W]

    @property
    def area(self) -> int:
        return self.height * self.width


@lru_cache(maxsize=None)
def grid_for(board_type: str) -> Grid:
    board = board_for(board_type)
    side = board.size
    shift = board.radius if board.is_hex else 0
    flat = tuple((c[1] + shift) * side + (c[0] + shift) for c in board.coords)
    valid = np.zeros(side * side, dtype=bool)
    valid[list(flat)] = True
    return Grid(board_type, side, side, flat, np.asarray(flat, dtype=np.int64), valid)


@dataclass(frozen=True, eq=False)
class PolicyLayout:
    """The channel table of one board (see the module docstring)."""

    board_type: str
    grid: Grid
    directions: int
    max_distance: int
    axes: int
    place: int  # first channel of each block
    move: int
    line_elim: int
    line_window: int
    territory: int
    elim: int  # elim/line, elim/cap, extract
    forced: int
    channels: int
    extra: int
    size: int
    ray_code: tuple  # ray_code[frm][to] = d * M + (k - 1)

    def channel_names(self) -> list[str]:
        names = [f"place/{n}" for n in (1, 2, 3)]
        names += [f"move/{d}/{k}" for d in range(self.directions) for k in range(1, self.max_distance + 1)]
        for block in ("+elim", "window"):
            names += [f"line/{block}/{a}/{kind}" for a in range(self.axes) for kind in SEGMENT_KINDS]
        names += [f"territory/{k}" for k in range(TERRITORY_RANKS)]
        names += ["elim/line", "elim/cap", "extract", "forced"]
        return names

    def index_label(self, index: int) -> str:
        """Human-readable name of an index, e.g. ``move/3/2@4,5``."""
        area = self.grid.area
        if not 0 <= index < self.size:
            raise ValueError(f"policy index {index} out of range 0..{self.size - 1}")
        if index >= self.channels * area:
            return EXTRA_TYPES[index - self.channels * area]
        channel, flat = divmod(index, area)
        board = board_for(self.board_type)
        where = self.grid.flat.index(flat) if flat in self.grid.flat else -1
        key = board.keys[where] if where >= 0 else f"pad{flat}"
        return f"{self.channel_names()[channel]}@{key}"


@lru_cache(maxsize=None)
def layout_for(board_type: str) -> PolicyLayout:
    board = board_for(board_type)
    grid = grid_for(board_type)
    directions = len(board.move_dirs)
    max_distance = max(len(ray) for rays in board.rays for ray in rays)
    axes = len(board.line_next)
    ray_code = tuple(
        {cell: d * max_distance + k for d, ray in enumerate(rays) for k, cell in enumerate(ray)}
        for rays in board.rays
    )
    place = 0
    move = place + 3
    line_elim = move + directions * max_distance
    line_window = line_elim + 3 * axes
    territory = line_window + 3 * axes
    elim = territory + TERRITORY_RANKS
    forced = elim + 3
    channels = forced + 1
    extra = len(EXTRA_TYPES)
    return PolicyLayout(
        board_type, grid, directions, max_distance, axes, place, move, line_elim, line_window,
        territory, elim, forced, channels, extra, channels * grid.area + extra, ray_code,
    )


# -- move -> indices -----------------------------------------------------------------


def move_indices(state: GameState, move: Move) -> tuple[int, ...]:
    """The policy indices of a legal move of ``state``, as ``legal_moves``
    generates it (match moves read from records first). Territory decisions
    and multi-variant recovery slides depend on the other legal moves,
    which this looks up; use ``indices_for_moves`` for a whole move list.
    Raises ValueError for a move without indices (resign, timeout) or a
    decision that is not legal here."""
    return indices_for_moves(state, [move])[0]


def indices_for_moves(state: GameState, moves: list[Move], legal: list[Move] | None = None) -> list[tuple[int, ...]]:
    """``move_indices`` for each move, sharing the position-wide work. ``legal``, when
    the caller has it, is ``legal_moves(state)``, spared generating again."""
    layout = layout_for(state.board.board_type)
    known = _fixed_indices(layout.board_type)
    # The search asks at every leaf, and nearly every move is known: one C-level pass.
    result = list(map(known.get, moves))
    if None in result:
        context = _Context(state, layout, legal)
        for k, m in enumerate(moves):
            if result[k] is None:
                found = result[k] = _indices(layout, context, m)
                if m.kind in _POSITION_FREE and len(known) < _FIXED_CACHE_LIMIT:
                    known[m] = found
    return result


# Move kinds whose indices depend on the move alone, not on the other legal moves:
# the search asks for the same ones at nearly every leaf, so they are remembered.
_POSITION_FREE = frozenset({PLACE_RING, MOVE_STACK, OVERTAKING_CAPTURE, CONTINUE_CAPTURE_SEGMENT,
                            FORCED_ELIMINATION_MOVE, *EXTRA_TYPES})
_FIXED_CACHE_LIMIT = 200_000  # about 50 MB at most; past it, indices are simply computed


@lru_cache(maxsize=None)
def _fixed_indices(board_type: str) -> dict:
    return {}


class _Context:
    """Lazily computed position-wide facts some move families need."""

    def __init__(self, state: GameState, layout: PolicyLayout, legal: list[Move] | None = None):
        self.state = state
        self.layout = layout
        self._legal = legal
        self._territory = None
        self._variants = None

    def legal(self) -> list[Move]:
        if self._legal is None:
            self._legal = legal_moves(self.state)
        return self._legal

    def territory(self) -> dict:
        if self._territory is None:
            regions = [m.cells for m in self.legal() if m.kind == CHOOSE_TERRITORY_OPTION]
            self._territory = territory_index_sets(self.state, self.layout, regions)
        return self._territory

    def variants(self) -> dict:
        """(origin, destination) -> number of legal variants of that slide."""
        if self._variants is None:
            counts: dict = {}
            for m in self.legal():
                if m.kind == RECOVERY_SLIDE:
                    counts[(m.frm, m.to)] = counts.get((m.frm, m.to), 0) + 1
            self._variants = counts
        return self._variants


def _indices(layout: PolicyLayout, context: _Context, m: Move) -> tuple[int, ...]:
    flat = layout.grid.flat
    area = layout.grid.area
    kind = m.kind
    if kind == PLACE_RING:
        return ((layout.place + (m.count or 1) - 1) * area + flat[m.to],)
    if kind in (MOVE_STACK, OVERTAKING_CAPTURE, CONTINUE_CAPTURE_SEGMENT):
        return ((layout.move + layout.ray_code[m.frm][m.to]) * area + flat[m.frm],)
    if kind == RECOVERY_SLIDE:
        slide = (layout.move + layout.ray_code[m.frm][m.to]) * area + flat[m.frm]
        if context.variants().get((m.frm, m.to), 1) <= 1:
            return (slide,)
        if m.option == 2:
            return (slide,) + segment_indices(layout, layout.line_window, m.collapse)
        if m.extraction >= 0:
            return (slide, (layout.elim + 2) * area + flat[m.extraction])
        return (slide,)
    if kind == PROCESS_LINE:
        return segment_indices(layout, layout.line_elim, m.collapse or m.cells)
    if kind == CHOOSE_LINE_OPTION:
        collapse = m.collapse or m.cells
        block = layout.line_elim if len(collapse) >= len(m.cells or collapse) else layout.line_window
        return segment_indices(layout, block, collapse)
    if kind == CHOOSE_TERRITORY_OPTION:
        found = context.territory().get(frozenset(m.cells))
        if found is None:
            raise ValueError("choose_territory_option names no region offered in this position")
        return found
    if kind == ELIMINATE_RINGS_FROM_STACK:
        context_name = m.context or _elimination_context(context.state)
        return ((layout.elim + _ELIM_CHANNEL[context_name]) * area + flat[m.to],)
    if kind == FORCED_ELIMINATION_MOVE:
        return (layout.forced * area + flat[m.to],)
    if kind in _EXTRA_SLOT:
        return (layout.channels * area + _EXTRA_SLOT[kind],)
    raise ValueError(f"{kind} has no policy index")


_EXTRA_SLOT = {kind: i for i, kind in enumerate(EXTRA_TYPES)}


def _elimination_context(state: GameState) -> str:
    # Same inference the engine applies to records without a context.
    if state.phase == LINE_PROCESSING:
        return "line"
    return "recovery" if state.pending_terr == RECOVERY_OWED else "territory"


def _segment_axis(board, cells: tuple) -> tuple[int, bool]:
    """(axis, True if ``cells`` run along +axis) of a run of >= 2 cells."""
    a0, a1 = cells[0], cells[1]
    for axis, nxt in enumerate(board.line_next):
        if nxt[a0] == a1:
            return axis, True
        if board.line_prev[axis][a0] == a1:
            return axis, False
    raise ValueError("cells do not form a straight run along a line axis")


def segment_indices(layout: PolicyLayout, block: int, cells: tuple) -> tuple[int, ...]:
    """The centre key of a run of markers (module docstring, Segments)."""
    board = board_for(layout.board_type)
    axis, forward = _segment_axis(board, cells)
    run = cells if forward else cells[::-1]
    n = len(run)
    area = layout.grid.area
    flat = layout.grid.flat
    base = block + 3 * axis
    if n % 2:
        return (base * area + flat[run[n // 2]],)
    return ((base + 1) * area + flat[run[n // 2 - 1]], (base + 2) * area + flat[run[n // 2]])


def _region_key(state: GameState, region) -> tuple:
    """A symmetry-invariant order on regions: size, then markers and
    stacks per colour (regions found with different wall colours differ
    there), then rings."""
    markers = [0] * (state.n + 1)
    stacks = [0] * (state.n + 1)
    rings = 0
    height = state.height
    ctrl = state.ctrl
    marker = state.marker
    for c in region:
        if height[c]:
            stacks[ctrl[c]] += 1
            rings += height[c]
        else:
            markers[marker[c]] += 1
    return (len(region), tuple(markers[1:]), tuple(stacks[1:]), rings)


def territory_index_sets(state: GameState, layout: PolicyLayout, regions: list) -> dict:
    """frozenset(region) -> its territory indices (module docstring).

    A region whose every cell is shared with a region of equal key (never
    seen in random play) falls back to all its cells in the last channel."""
    keys = [_region_key(state, r) for r in regions]
    holders: dict = {}
    for i, region in enumerate(regions):
        for c in region:
            holders.setdefault(c, []).append(i)
    area = layout.grid.area
    flat = layout.grid.flat
    out = {}
    for i, region in enumerate(regions):
        mine = keys[i]
        found = []
        for c in region:
            rank = 0
            tied = False
            for j in holders[c]:
                if j != i:
                    if keys[j] < mine:
                        rank += 1
                    elif keys[j] == mine:
                        tied = True
                        break
            if not tied:
                found.append((layout.territory + rank) * area + flat[c])
        if not found:
            found = [(layout.territory + TERRITORY_RANKS - 1) * area + flat[c] for c in region]
        out[frozenset(region)] = tuple(sorted(found))
    return out


# -- indices -> moves ---------------------------------------------------------------


def moves_for_index(state: GameState, index: int, moves: list[Move] | None = None) -> list[Move]:
    """The legal moves (of ``moves``, default ``legal_moves(state)``) whose
    index set contains ``index``: one move, none, or (a shared recovery
    slide index) the slide's variants."""
    moves = legal_moves(state) if moves is None else moves
    return [m for m, group in zip(moves, indices_for_moves(state, moves)) if index in group]


def move_for_indices(state: GameState, indices, moves: list[Move] | None = None) -> Move | None:
    """The legal move whose index set is exactly ``indices``, or None."""
    moves = legal_moves(state) if moves is None else moves
    wanted = tuple(sorted(indices))
    for m, group in zip(moves, indices_for_moves(state, moves)):
        if tuple(sorted(group)) == wanted:
            return m
    return None


# -- priors and targets -----------------------------------------------------------


def move_priors(logits: np.ndarray, index_sets: list[tuple[int, ...]]) -> np.ndarray:
    """Priors over moves from one position's policy logits.

    Softmax over the distinct indices the moves claim; each index's
    probability is split evenly among the moves claiming it and a move's
    prior is the sum of its shares. With disjoint sets this is the plain
    sum over a move's indices; the result sums to 1."""
    flat = np.fromiter((i for group in index_sets for i in group), dtype=np.int64)
    owners = np.repeat(np.arange(len(index_sets)), [len(group) for group in index_sets])
    unique, inverse, claims = np.unique(flat, return_inverse=True, return_counts=True)
    chosen = logits[unique].astype(np.float64)
    weights = np.exp(chosen - chosen.max())
    shares = weights[inverse] / claims[inverse]
    priors = np.bincount(owners, weights=shares, minlength=len(index_sets))
    return priors / priors.sum()


def policy_target(index_sets: list[tuple[int, ...]], move_probs) -> tuple[np.ndarray, np.ndarray]:
    """A training target as (sorted unique int32 indices, float32 probs): each move's probability
    spread evenly over its indices, repeated indices added up. Inverse of ``move_priors`` when sets
    are disjoint. Every index of every move is listed, with probability 0 where the search gave none:
    the indices are the legal moves, which the trainer's softmax runs over."""
    flat = np.fromiter((i for group in index_sets for i in group), dtype=np.int64)
    share = np.repeat(np.asarray(move_probs, dtype=np.float64) / [len(g) for g in index_sets],
                      [len(g) for g in index_sets])
    unique, inverse = np.unique(flat, return_inverse=True)
    probs = np.bincount(inverse, weights=share, minlength=len(unique))
    return unique.astype(np.int32), (probs / probs.sum()).astype(np.float32)
