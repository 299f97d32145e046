"""Disconnected regions and their processing (RULES.md 10).

``find_regions`` implements the executable definition of 10.1 (one flood
fill per marker colour plus one with only collapsed cells as walls). Its
result depends on the board alone (the active players are a function of
the rings on it), so it is cached keyed by the Zobrist board hash. The
cache holds many boards, not just the last one: a tree search undoes its
moves and walks the same lines again, and must find them still there.
Copies of a state share the cache (same board type, players and options).
"""

from __future__ import annotations

from functools import cache, lru_cache

from .elimination import eliminate_top
from .moves import CHOOSE_TERRITORY_OPTION, ELIMINATE_RINGS_FROM_STACK, SKIP_TERRITORY_PROCESSING, make_move
from .state import COLLAPSED, RECOVERY_OWED, STACK, GameState


def active_players(s: GameState) -> frozenset:
    """The colours a region is tested against: players owning at least one
    ring on the board, buried rings included (RULES.md 10.1, 14 item 11).

    With ``RulesOptions.active_by_stack_controllers`` only players
    controlling a stack count, and fewer than two such players means no
    region at all (the reading found in some versions of the reference
    engines)."""
    if s.options.active_by_stack_controllers:
        return frozenset(p for p in range(1, s.n + 1) if s.stacks_of[p])
    return frozenset(p for p in range(1, s.n + 1) if s.on_board[p] > 0)


def _components(board, walls: int, owned: list):
    """Yield (cells, controllers) for each component of the cells not in
    ``walls``. Sets of cells are ints in the ``Board.bits`` layout;
    ``owned`` lists (player, cells of the stacks the player controls)."""
    for part in _parts(board, walls):
        yield part, frozenset(p for p, mine in owned if part & mine)


# Wall sets whose components are kept. A search's boards mostly differ from
# their parent's in stacks or in one colour's markers, so most of the flood
# fills of a new board were done before: an evaluator that looks for regions
# at every leaf spent 40% of its time repeating them.
PARTS_CACHE_SIZE = 1 << 16


@lru_cache(maxsize=PARTS_CACHE_SIZE)
def _parts(board, walls: int) -> tuple:
    """The components of the cells not in ``walls``, as ints, lowest cell
    first.

    Each component is grown from its lowest cell by stepping the whole set
    towards every territory neighbour at once, until it stops growing: a
    few integer operations per step instead of a visit per cell."""
    free = board.all_bits & ~walls
    stride, diagonal = _row_steps(board)
    parts = []
    while free:
        part = free & -free
        while True:
            grown = part | part >> 1 | part << stride | part >> stride
            if diagonal:
                grown |= part << diagonal | part >> diagonal
            grown &= free
            # The +1 step, all the way: adding the set to ``free`` carries
            # each of its cells up through the rest of its run of free
            # places (a run ends at the unused place after each row), and
            # the bits the carry cleared are that run.
            grown |= ((free + grown) ^ free) & free
            if grown == part:
                break
            part = grown
        free ^= part
        parts.append(part)
    return tuple(parts)


def _stack_cells(s: GameState) -> list:
    """(player, cells) of the stacks each player controls, as ints. A cell
    counts only while its ``occ`` says STACK, as in every other board test."""
    bits = s.board.bits
    stacks = s.occ_bits[STACK]
    owned = []
    for p in range(1, s.n + 1):
        mine = 0
        for c in s.stacks_of[p]:
            mine |= bits[c]
        owned.append((p, mine & stacks))
    return owned


@cache
def _row_steps(board) -> tuple:
    """(row stride, diagonal step or 0): the territory neighbour steps
    besides +-1 within a row; hex boards also step by the stride less one."""
    ups = sorted(k for k in board.territory_shifts if k > 1)
    return ups[-1], (ups[0] if len(ups) == 2 else 0)


@lru_cache(maxsize=PARTS_CACHE_SIZE)
def _cells_of(board, part: int) -> tuple:
    """The cells of a set, in cell order (the bit layout keeps it)."""
    cells = []
    where = board.bit_cells
    while part:
        low = part & -part
        cells.append(where[low.bit_length() - 1])
        part ^= low
    return tuple(cells)


def find_regions(s: GameState) -> list:
    """Disconnected regions as sorted tuples of cells, de-duplicated, in a
    fixed order. Any mover may be able to process some of them (see
    ``processable_regions``)."""
    cache = s._regions
    regions = cache.get(s.board_hash)
    if regions is None:
        if len(cache) >= REGION_CACHE_SIZE:
            cache.clear()
        regions = cache[s.board_hash] = _regions_of(s)
    return regions


# Boards kept by the region cache before it starts afresh: more than the
# positions of a search tree of a few thousand simulations, and small
# enough (about 130 bytes a board, 0.5 MB in all) to keep one per game in
# play.
REGION_CACHE_SIZE = 4096


def _regions_of(s: GameState) -> list:
    active = active_players(s)
    found = set()
    if len(active) > 1 or (active and not s.options.active_by_stack_controllers):
        board = s.board
        collapsed = s.occ_bits[COLLAPSED]
        owned = _stack_cells(s)
        for b in range(1, s.n + 1):
            if not s.marker_count[b]:
                continue
            for part, owners in _components(board, collapsed | s.marker_bits[b], owned):
                if owners < active:
                    found.add(part)
        if len(active) > 1:
            for part, owners in _components(board, collapsed, owned):
                if len(owners) == 1 and owners < active:
                    found.add(part)
    return sorted(_cells_of(s.board, part) for part in found)


def _has_stack_outside(s: GameState, p: int, region: tuple, recovery: bool) -> bool:
    inside = set(region)
    if recovery:
        for c, rings in enumerate(s.rings):
            if rings is not None and c not in inside and p in rings[:-1]:
                return True
        return False
    for c in s.stacks_of[p]:
        if c not in inside:
            return True
    return False


def processable_regions(s: GameState, p: int, recovery: bool) -> list:
    """Regions ``p`` may process now: ``p`` must be able to pay the
    self-elimination from a stack outside the region (RULES.md 10.2)."""
    return [r for r in find_regions(s) if _has_stack_outside(s, p, r, recovery)]


def region_decision_moves(s: GameState, p: int, recovery: bool) -> list:
    regions = processable_regions(s, p, recovery)
    if not regions:
        return []
    out = [make_move(CHOOSE_TERRITORY_OPTION, p, r[0], cells=r) for r in regions]
    out.append(make_move(SKIP_TERRITORY_PROCESSING, p))
    return out


def territory_elimination_moves(s: GameState, p: int) -> list:
    """Self-elimination options owed after a region: whole caps of ``p``'s
    stacks, or (recovery context) buried-ring extractions."""
    if s.pending_terr == RECOVERY_OWED:
        cells = [c for c, r in enumerate(s.rings) if r is not None and p in r[:-1]]
        return [make_move(ELIMINATE_RINGS_FROM_STACK, p, c, context="recovery") for c in cells]
    return [make_move(ELIMINATE_RINGS_FROM_STACK, p, c, context="territory") for c in sorted(s.stacks_of[p])]


def border_markers(s: GameState, region: tuple) -> list:
    """Markers collapsed along with a region, as the reference engines
    compute them (RULES.md 10.3): markers next to the region, grown through
    plain (x, y) neighbours except on ``hexagonal``."""
    inside = set(region)
    marker = s.marker
    seed = []
    seen = set()
    for c in region:
        for nb in s.board.territory_nbrs[c]:
            if nb not in inside and nb not in seen and marker[nb]:
                seen.add(nb)
                seed.append(nb)
    todo = list(seed)
    grow = s.board.border_nbrs
    while todo:
        c = todo.pop()
        for nb in grow[c]:
            if nb not in inside and nb not in seen and marker[nb]:
                seen.add(nb)
                todo.append(nb)
    return sorted(seen)


def process_region(s: GameState, p: int, region: tuple) -> None:
    """Eliminate everything inside, collapse region and border markers to
    ``p`` (RULES.md 10.3 steps 1-4). The self-elimination is a later move."""
    border = border_markers(s, region)
    for c in region:
        if s.rings[c] is not None:
            eliminate_top(s, c, s.height[c], p)
        if s.marker[c]:
            s.set_marker(c, 0)
        s.set_collapsed(c, p)
    for c in border:
        s.set_marker(c, 0)
        s.set_collapsed(c, p)
    s.territory[p] += len(region) + len(border)
