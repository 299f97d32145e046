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


def _components(s: GameState, wall_player: int):
    """Yield (cells, controllers) for each component of non-wall cells;
    walls are collapsed cells and markers of ``wall_player`` (0: none)."""
    nbrs = s.board.territory_nbrs
    occ = s.occ
    marker = s.marker
    ctrl = s.ctrl
    t = s.board.cells
    seen = bytearray(t)
    for c in range(t):
        if occ[c] == COLLAPSED or (wall_player and marker[c] == wall_player):
            seen[c] = 1
    for start in range(t):
        if seen[start]:
            continue
        seen[start] = 1
        stack = [start]
        cells = []
        owners = set()
        while stack:
            c = stack.pop()
            cells.append(c)
            if occ[c] == STACK:
                owners.add(ctrl[c])
            for nb in nbrs[c]:
                if not seen[nb]:
                    seen[nb] = 1
                    stack.append(nb)
        yield cells, owners


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


# Boards kept by the region cache before it starts afresh: enough for the
# lines a search revisits, small enough (about 100 bytes a board) to keep
# one per game in play.
REGION_CACHE_SIZE = 8192


def _regions_of(s: GameState) -> list:
    active = active_players(s)
    found = set()
    if len(active) > 1 or (active and not s.options.active_by_stack_controllers):
        for b in range(1, s.n + 1):
            if not s.marker_count[b]:
                continue
            for cells, owners in _components(s, b):
                if owners < active:
                    found.add(tuple(sorted(cells)))
        if len(active) > 1:
            for cells, owners in _components(s, 0):
                if len(owners) == 1 and owners < active:
                    found.add(tuple(sorted(cells)))
    return sorted(found)


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
