"""The shortcuts a tree search relies on give the same answers as the slow
ways: in-place moves undone in any nesting, the region cache, the bit sets
mirrored from the cell arrays, open-cell placement and the between-cells
table.

The search-like walks descend several random moves from a position, list
the legal moves at the leaf, compare them with those of a fresh copy (built
cell by cell, caches empty), and unwind; the same root is walked again so
that cached answers are reused after undos.
"""

from __future__ import annotations

import random

import pytest

from ringrift_cli.game import (
    CONFIG_KEYS,
    RulesOptions,
    apply_move_inplace,
    board_for,
    initial_state,
    legal_moves,
    state_from_json,
    state_to_json,
    undo_move,
)
from ringrift_cli.game import territory
from ringrift_cli.game.boards import BOARD_TYPES
from ringrift_cli.game.moves import CHOOSE_TERRITORY_OPTION, PLACE_RING, TERRITORY_PROCESSING
from ringrift_cli.game.placement import has_any_placement, is_legal_placement, placement_limit, placement_moves
from ringrift_cli.game.positions import position
from ringrift_cli.game.state import _SCALARS, COLLAPSED, STACK

SMALL = [k for k in CONFIG_KEYS if k.startswith(("square8", "hex8"))]
BIG = [k for k in CONFIG_KEYS if k.startswith(("square19", "hexagonal"))]


def fresh(s):
    """An equal state built from scratch: no shared cache, bit sets rebuilt."""
    return state_from_json(state_to_json(s))


def reference_regions(s) -> list:
    """RULES.md 10.1 the slow way: a cell-by-cell flood fill over
    ``territory_nbrs`` per marker colour, and one with collapsed walls only."""
    active = territory.active_players(s)
    if not (len(active) > 1 or (active and not s.options.active_by_stack_controllers)):
        return []
    found = set()
    walls_for = [b for b in range(1, s.n + 1) if s.marker_count[b]]
    for wall in walls_for + ([0] if len(active) > 1 else []):
        seen = [s.occ[c] == COLLAPSED or (wall and s.marker[c] == wall) for c in range(s.board.cells)]
        for start in range(s.board.cells):
            if seen[start]:
                continue
            seen[start] = True
            todo, cells, owners = [start], [], set()
            while todo:
                c = todo.pop()
                cells.append(c)
                if s.occ[c] == STACK:
                    owners.add(s.ctrl[c])
                for nb in s.board.territory_nbrs[c]:
                    if not seen[nb]:
                        seen[nb] = True
                        todo.append(nb)
            if owners < active and (wall or len(owners) == 1):
                found.add(tuple(sorted(cells)))
    return sorted(found)


def assert_bit_sets_mirror_cells(s):
    bits = s.board.bits
    for o in range(4):
        assert s.occ_bits[o] == sum(bits[c] for c in range(s.board.cells) if s.occ[c] == o)
    for p in range(s.n + 1):
        assert s.marker_bits[p] == sum(bits[c] for c in range(s.board.cells) if s.marker[c] == p)


def play_random(s, rng, plies):
    for _ in range(plies):
        if s.is_over():
            break
        moves = legal_moves(s)
        apply_move_inplace(s, rng.choice(moves), validate=False, undo=False)


def search_walks(s, rng, walks: int, depth: int, seen: dict) -> None:
    """Walk down and back up like a tree search, checking every leaf."""
    start = s.copy()
    start_hash = s.state_hash()
    for _ in range(walks):
        tokens = []
        for _ in range(rng.randint(1, depth)):
            if s.is_over():
                break
            tokens.append(apply_move_inplace(s, rng.choice(legal_moves(s)), validate=False))
        leaf_moves = legal_moves(s)
        assert leaf_moves == legal_moves(fresh(s))
        assert territory.find_regions(s) == reference_regions(s)
        assert_bit_sets_mirror_cells(s)
        if s.phase == TERRITORY_PROCESSING:
            seen["territory"] += 1
        if any(m.kind == CHOOSE_TERRITORY_OPTION for m in leaf_moves):
            seen["region choice"] += 1
        for token in reversed(tokens):
            undo_move(s, token)
        assert s == start and s.state_hash() == start_hash
    assert_bit_sets_mirror_cells(s)


@pytest.mark.parametrize("config", SMALL)
def test_search_walks_undo_exactly_and_leaves_match_fresh_states(config):
    seen = {"territory": 0, "region choice": 0}
    for seed in range(6):
        rng = random.Random(seed)
        s = initial_state(config)
        while not s.is_over():
            search_walks(s, rng, walks=4, depth=6, seen=seen)
            play_random(s, rng, rng.randint(3, 12))
    # The walks must have gone through region decisions to test them.
    assert seen["region choice"] > 0


@pytest.mark.parametrize("config", BIG)
def test_search_walks_on_big_boards(config):
    seen = {"territory": 0, "region choice": 0}
    rng = random.Random(7)
    s = initial_state(config)
    while not s.is_over() and s.ply < 900:
        search_walks(s, rng, walks=2, depth=5, seen=seen)
        play_random(s, rng, rng.randint(20, 40))


@pytest.mark.parametrize("by_controllers", [False, True])
@pytest.mark.parametrize("config", ["square8_2p", "square8_4p", "hex8_3p", "square19_2p", "hexagonal_3p"])
def test_regions_match_a_cell_by_cell_flood_fill(config, by_controllers):
    options = RulesOptions(active_by_stack_controllers=by_controllers)
    games = 1 if config in BIG else 4
    found = 0
    for seed in range(games):
        rng = random.Random(seed)
        s = initial_state(config, options)
        while not s.is_over():
            regions = territory.find_regions(s)
            assert regions == reference_regions(s)
            found += bool(regions)
            play_random(s, rng, 1 if config not in BIG else 5)
    assert found


def test_region_cache_is_right_after_it_is_emptied(monkeypatch):
    monkeypatch.setattr(territory, "REGION_CACHE_SIZE", 3)
    rng = random.Random(3)
    s = initial_state("square8_2p")
    while not s.is_over():
        assert territory.find_regions(s) == reference_regions(s)
        assert len(s._regions) <= 3
        play_random(s, rng, 1)


def test_a_stack_on_a_collapsed_cell_is_a_wall_and_owns_nothing():
    # Not reachable in play, but unchecked reference moves can build it;
    # region tests read ``occ`` as they always did.
    s = position("square8", 2, stacks={"0,0": [1], "7,7": [2], "3,3": [1]}, markers={"1,0": 2, "0,1": 2})
    s.set_collapsed(s.board.cell_of("3,3"), 1)
    assert s.occ[s.board.cell_of("3,3")] == COLLAPSED
    assert_bit_sets_mirror_cells(s)
    assert territory.find_regions(s) == reference_regions(s)


def test_restore_sets_every_scalar_field_in_order():
    s = initial_state("hex8_3p")
    apply_move_inplace(s, legal_moves(s)[0], undo=False)
    before = {name: getattr(s, name) for name in _SCALARS}
    snap = s.snapshot()
    s._log = []
    for i, name in enumerate(_SCALARS):
        setattr(s, name, ("changed", i))
    s.restore(snap, 0)
    assert {name: getattr(s, name) for name in _SCALARS} == before


@pytest.mark.parametrize("config", ["square8_2p", "square8_3p", "hex8_4p", "square19_2p", "hexagonal_2p"])
def test_placements_match_the_per_cell_legality_test(config):
    rng = random.Random(11)
    s = initial_state(config)
    checked = 0
    while not s.is_over() and checked < 25:
        p = s.current
        if s.hand[p] > 0:
            maxc = placement_limit(s, p)
            expected = [
                (c, n) for c in range(s.board.cells) for n in range(1, maxc + 1) if is_legal_placement(s, p, c, n)
            ]
            got = placement_moves(s, p)
            assert [(m.to, m.count) for m in got] == expected
            assert all(m.kind == PLACE_RING and m.player == p for m in got)
            assert has_any_placement(s, p) == bool(expected)
            checked += 1
        play_random(s, rng, 1)


def test_placements_next_to_walls_and_edges():
    # A cell hemmed in by stacks and collapsed cells has only some counts.
    s = position(
        "square8",
        2,
        stacks={"1,0": [2, 2], "1,1": [2], "0,2": [1, 1, 1]},
        collapsed={"2,0": 1},
    )
    maxc = placement_limit(s, 1)
    expected = [(c, n) for c in range(64) for n in range(1, maxc + 1) if is_legal_placement(s, 1, c, n)]
    assert [(m.to, m.count) for m in placement_moves(s, 1)] == expected


@pytest.mark.parametrize("board_type", BOARD_TYPES)
def test_bit_layout_steps_match_the_neighbour_tables(board_type):
    b = board_for(board_type)
    assert list(b.bits) == sorted(b.bits)
    assert b.all_bits == sum(b.bits)

    def step(cell, shift):
        moved = (b.bits[cell] << shift if shift > 0 else b.bits[cell] >> -shift) & b.all_bits
        return b.bit_cells[moved.bit_length() - 1] if moved else None

    for c in range(b.cells):
        assert b.bit_cells[b.bits[c].bit_length() - 1] == c
        assert {step(c, k) for k in b.territory_shifts} - {None} == set(b.territory_nbrs[c])
        for d, k in enumerate(b.move_shifts):
            ray = b.rays[c][d]
            assert step(c, k) == (ray[0] if ray else None)


@pytest.mark.parametrize("board_type", BOARD_TYPES)
def test_between_lists_the_cells_on_the_ray(board_type):
    b = board_for(board_type)
    for src in range(0, b.cells, 7):
        for ray in b.rays[src]:
            for k, dst in enumerate(ray):
                assert b.direction_between(src, dst) >= 0
                assert b.between(src, dst) == ray[:k]
    with pytest.raises(KeyError):
        b.between(0, 0)
