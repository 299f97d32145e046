"""Board encoding: shapes, perspective, policy indices, symmetries.

Positions come from seeded random playouts on every config (short ones on
the big boards) plus a few built positions for rare move families.
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringrift_cli.ai.encoding import (
    ENCODER_VERSION,
    EXTRA_TYPES,
    EncodingMismatchError,
    check_metadata,
    encode_state,
    encoder_for,
    grid_for,
    indices_for_moves,
    layout_for,
    move_for_indices,
    move_indices,
    move_priors,
    moves_for_index,
    policy_target,
    symmetries,
    transform_indices,
    transform_move,
    transform_planes,
    transform_policy,
    transform_state,
)
from ringrift_cli.game import (
    CONFIG_KEYS,
    RulesOptions,
    apply_move,
    apply_move_inplace,
    initial_state,
    legal_moves,
    state_from_json,
    state_to_json,
)

SMALL = [k for k in CONFIG_KEYS if k.startswith(("square8", "hex8"))]
LARGE = [k for k in CONFIG_KEYS if k.startswith(("square19", "hexagonal"))]
# Only recovery slides offered in several variants may share an index.
MAY_SHARE = {"recovery_slide"}


@lru_cache(maxsize=None)
def playout_positions(config: str) -> tuple:
    """Every position of a few seeded random games (the pie rule on in one
    of them, so that swap_sides is offered)."""
    games, cap = (10, 10_000) if config in SMALL else (2, 400)
    out = []
    for seed in range(games):
        options = RulesOptions(swap_rule=seed == 0)
        rng = random.Random(seed * 7919 + len(config))
        state = initial_state(config, options)
        for _ in range(cap):
            if state.is_over():
                break
            moves = legal_moves(state)
            out.append((state.copy(), moves))
            apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)
    return tuple(out)


def built(config: str, **fields):
    """A position from the canonical JSON of the start position with
    ``fields`` replaced (``turn`` entries are merged)."""
    doc = state_to_json(initial_state(config))
    turn = fields.pop("turn", {})
    doc.update(fields)
    doc["turn"].update(turn)
    return state_from_json(doc)


def built_positions() -> list:
    """Rare move families, each in a position of its own."""
    return [
        # Nested regions: the left half behind a collapsed wall, a smaller
        # part of it behind player 1's markers, and the cell they enclose.
        built("square8_2p", stacks={"0,0": [2], "6,6": [1], "7,7": [2]},
              markers={"2,1": 1, "1,2": 1, "3,2": 1, "2,3": 1},
              collapsed={f"4,{y}": 2 for y in range(8)}, rings_in_hand=[17, 16], territory=[0, 8],
              phase="territory_processing"),
        # Recovery: a slide forming an overlength line (option 1 per
        # extraction stack, option 2 per window) and one exact line.
        built("square8_2p", stacks={"6,6": [1, 2], "0,7": [1, 2]},
              markers={"0,3": 1, "1,3": 1, "2,3": 1, "4,3": 1, "3,4": 1}, rings_in_hand=[0, 16],
              phase="movement"),
        # Recovery without a line: fallback slides and stack strikes, two
        # extraction stacks each.
        built("hex8_2p", stacks={"0,0,0": [1, 2, 2], "2,-1,-1": [1, 2], "-3,1,2": [2]},
              markers={"1,1,-2": 1, "-1,-1,2": 1}, rings_in_hand=[0, 13], phase="movement"),
        # Line decisions: an overlength line, an exact line, a crossing
        # diagonal sharing a cell.
        built("square8_2p", stacks={"6,6": [1]},
              markers={**{f"{x},0": 1 for x in range(6)}, **{f"7,{y}": 1 for y in range(4)},
                       "1,1": 1, "2,2": 1, "3,3": 1},
              rings_in_hand=[17, 18], phase="line_processing"),
        # 3 players, L = 3: odd-length windows of a hex line.
        built("hex8_3p", stacks={"0,0,0": [1]},
              markers={f"{x},{-x},0": 1 for x in range(-2, 3)}, rings_in_hand=[17, 18, 18],
              phase="line_processing"),
    ]


def all_positions():
    for config in CONFIG_KEYS:
        yield from playout_positions(config)
    for state in built_positions():
        yield state, legal_moves(state)


# -- encoder shapes -----------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIG_KEYS)
def test_encoding_has_the_documented_shapes_and_finite_values(config):
    enc = encoder_for(config)
    n = enc.seats
    assert (enc.planes, enc.globals) == (5 * n + 4, 8 * n + 22)
    assert enc.policy_size == enc.policy_channels * enc.height * enc.width + enc.policy_extra
    valid = grid_for(enc.board_type).valid.reshape(enc.height, enc.width)
    for state, _ in playout_positions(config)[::5]:
        planes, globals_ = encode_state(state)
        assert planes.shape == (enc.planes, enc.height, enc.width) and planes.dtype == np.float32
        assert globals_.shape == (enc.globals,) and globals_.dtype == np.float32
        assert np.isfinite(planes).all() and np.isfinite(globals_).all()
        assert (planes[:, ~valid] == 0).all()
        assert (planes[5 * n] == valid).all()
        assert (planes >= 0).all()


def test_policy_sizes_stay_near_the_reference():
    sizes = {b: layout_for(b).size for b in ("square8", "square19", "hex8", "hexagonal")}
    assert sizes == {"square8": 5897, "square19": 64989, "hex8": 6327, "hexagonal": 108759}


def test_metadata_mismatch_is_an_error():
    meta = encoder_for("hex8_3p").metadata()
    assert meta["version"] == ENCODER_VERSION
    check_metadata(meta, "hex8_3p")
    with pytest.raises(EncodingMismatchError):
        check_metadata({**meta, "version": ENCODER_VERSION + 1}, "hex8_3p")
    with pytest.raises(EncodingMismatchError):
        check_metadata(meta, "hex8_2p")


# -- perspective ------------------------------------------------------------------------


def relabel(state, shift: int):
    """The same position with every colour p renamed p + shift (mod N)."""
    n = state.n
    new = {p: (p - 1 + shift) % n + 1 for p in range(1, n + 1)}
    doc = state_to_json(state)
    doc["stacks"] = {k: [new[r] for r in v] for k, v in doc["stacks"].items()}
    doc["markers"] = {k: new[v] for k, v in doc["markers"].items()}
    doc["collapsed"] = {k: new[v] for k, v in doc["collapsed"].items()}
    for name in ("rings_in_hand", "eliminated", "board_eliminated", "territory", "permanently_eliminated_turn"):
        old = doc[name]
        doc[name] = [old[(q - 1 - shift) % n] for q in range(1, n + 1)]
    old = doc["lps"]["round_actions"]
    doc["lps"]["round_actions"] = [old[(q - 1 - shift) % n] for q in range(1, n + 1)]
    for holder, name in ((doc, "current_player"), (doc["turn"], "last_actor"), (doc["lps"], "round_first"),
                         (doc["lps"], "exclusive_player"), (doc, "winner")):
        if holder[name]:
            holder[name] = new[holder[name]]
    return state_from_json(doc)


@pytest.mark.parametrize("config", ["square8_2p", "square8_4p", "hex8_3p", "hexagonal_4p"])
def test_encoding_depends_on_seats_relative_to_the_mover_only(config):
    positions = playout_positions(config)
    n = positions[0][0].n
    mover_seat = slice(7 * n + 16, 7 * n + 16 + n)
    for state, _ in positions[::11]:
        planes, globals_ = encode_state(state)
        for shift in range(1, n):
            other_planes, other_globals = encode_state(relabel(state, shift))
            assert np.array_equal(planes, other_planes)
            keep = np.ones(len(globals_), dtype=bool)
            keep[mover_seat] = False
            assert np.array_equal(globals_[keep], other_globals[keep])
            assert other_globals[mover_seat].argmax() == (state.current - 1 + shift) % n


@pytest.mark.parametrize("config", ["square8_2p", "hex8_3p", "square19_4p"])
def test_changing_the_side_to_move_rotates_the_seat_planes(config):
    for state, _ in playout_positions(config)[::13]:
        n = state.n
        doc = state_to_json(state)
        doc["current_player"] = state.current % n + 1
        planes, _ = encode_state(state)
        turned, _ = encode_state(state_from_json(doc))
        for j in range(n):
            assert np.array_equal(turned[5 * j:5 * j + 5], planes[5 * ((j + 1) % n):5 * ((j + 1) % n) + 5])
        assert np.array_equal(turned[5 * n:], planes[5 * n:])


def test_mine_planes_show_the_movers_pieces():
    state = built("square8_3p", stacks={"1,2": [2, 3, 3], "5,5": [3]}, markers={"0,0": 3, "7,7": 1},
                  collapsed={"4,4": 2}, rings_in_hand=[18, 17, 15], current_player=3, phase="movement")
    planes, globals_ = encode_state(state)
    scale = 1 / 7
    assert planes[0, 2, 1] == pytest.approx(3 * scale)  # mover's stack height at x=1, y=2
    assert planes[1, 2, 1] == pytest.approx(2 * scale)  # its cap
    assert planes[5 * 2 + 2, 2, 1] == pytest.approx(scale)  # seat 2 (player 2) buried ring
    assert planes[3, 0, 0] == 1 and planes[5 + 3, 7, 7] == 1  # markers: mine, next seat (player 1)
    assert planes[10 + 4, 4, 4] == 1  # collapsed of player 2, two seats after player 3
    assert globals_[0] == pytest.approx(15 / 18) and globals_[7] == pytest.approx(1.0)


def plain_planes(state) -> np.ndarray:
    """The planes of the module docstring, written cell by cell: the reference for the
    encoder's single-scatter version."""
    n = state.n
    grid = grid_for(state.board.board_type)
    scale = np.float32(1.0 / layout_for(state.board.board_type).max_distance)
    out = np.zeros((5 * n + 4, grid.area), dtype=np.float32)

    def seat(player):
        return 5 * ((player - state.current) % n)

    for c, at in enumerate(grid.flat):
        if state.ctrl[c]:
            out[seat(state.ctrl[c]), at] = np.float32(state.height[c]) * scale
            out[seat(state.ctrl[c]) + 1, at] = np.float32(state.cap[c]) * scale
            below = state.rings[c][:state.height[c] - state.cap[c]]
            for owner in set(below):
                out[seat(owner) + 2, at] = np.float32(below.count(owner)) * scale
        if state.marker[c]:
            out[seat(state.marker[c]) + 3, at] = 1.0
        if state.collapsed[c]:
            out[seat(state.collapsed[c]) + 4, at] = 1.0
        if not (state.ctrl[c] or state.marker[c] or state.collapsed[c]):
            out[5 * n + 1, at] = 1.0
    out[5 * n] = grid.valid
    if state.must_move >= 0:
        out[5 * n + 2, grid.flat[state.must_move]] = 1.0
    if state.chain_pos >= 0:
        out[5 * n + 3, grid.flat[state.chain_pos]] = 1.0
    return out.reshape(5 * n + 4, grid.height, grid.width)


@pytest.mark.parametrize("config", CONFIG_KEYS)
def test_planes_equal_a_cell_by_cell_encoding_bit_for_bit(config):
    for state, _ in playout_positions(config)[::3]:
        planes, _ = encode_state(state)
        assert planes.dtype == np.float32 and planes.tobytes() == plain_planes(state).tobytes()


def test_planes_with_a_raised_ring_supply_equal_a_cell_by_cell_encoding():
    # 130 rings each: a stack could outgrow the encoder's byte codes, so heights take another path.
    rng = random.Random(5)
    state = initial_state("square8_2p", RulesOptions(rings_per_player=130))
    while not state.is_over() and state.ply < 300:
        planes, _ = encode_state(state)
        assert planes.tobytes() == plain_planes(state).tobytes()
        moves = legal_moves(state)
        apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)


# -- policy indices ------------------------------------------------------------------


def test_distinct_legal_moves_get_distinct_disjoint_index_sets():
    stats = {"moves": 0, "multi": 0, "shared": 0}
    for state, moves in all_positions():
        layout = layout_for(state.board.board_type)
        valid = layout.grid.valid
        sets = indices_for_moves(state, moves)
        assert len({frozenset(s) for s in sets}) == len(moves)
        owner: dict = {}
        for k, (move, group) in enumerate(zip(moves, sets)):
            assert group and len(set(group)) == len(group)
            for i in group:
                assert 0 <= i < layout.size
                if i < layout.channels * layout.grid.area:
                    assert valid[i % layout.grid.area], "index on a padding cell"
                if i in owner:
                    assert {moves[owner[i]].kind, move.kind} <= MAY_SHARE, (move, moves[owner[i]])
                    stats["shared"] += 1
                owner[i] = k
            stats["multi"] += len(group) > 1
        stats["moves"] += len(moves)
    assert stats["multi"] > 0 and stats["shared"] > 0


def test_every_index_maps_back_to_its_move():
    rng = random.Random(5)
    for state, moves in list(all_positions())[::3]:
        sets = indices_for_moves(state, moves)
        claimed: dict = {}
        for move, group in zip(moves, sets):
            for i in group:
                claimed.setdefault(i, []).append(move)
        for move, group in zip(moves, sets):
            assert all(move in claimed[i] for i in group)
            assert len(claimed[group[0]]) == 1 or move.kind in MAY_SHARE
        k = rng.randrange(len(moves))
        assert move_indices(state, moves[k]) == sets[k]
        assert move_for_indices(state, sets[k], moves) == moves[k]
        assert moves[k] in moves_for_index(state, sets[k][-1])


def test_placements_keep_the_ring_count_and_stack_moves_the_distance():
    state = initial_state("square8_2p")
    moves = legal_moves(state)
    layout = layout_for("square8")
    labels = {(m.to, m.count): layout.index_label(move_indices(state, m)[0]) for m in moves}
    assert labels[(state.board.cell_at(3, 4), 2)] == "place/2@3,4"
    assert len(set(labels.values())) == len(moves)
    assert {m.count for m in moves} == {1, 2, 3}


def test_every_move_type_has_indices_and_the_extra_slots_are_distinct():
    seen = set()
    for _state, moves in all_positions():
        seen.update(m.kind for m in moves)
    assert seen >= set(EXTRA_TYPES) | {
        "place_ring", "move_stack", "overtaking_capture", "continue_capture_segment", "recovery_slide",
        "process_line", "choose_line_option", "choose_territory_option", "eliminate_rings_from_stack",
        "forced_elimination",
    }
    state = initial_state("hex8_2p")
    with pytest.raises(ValueError):
        move_indices(state, legal_moves(state)[0]._replace(kind="resign"))


def test_priors_and_targets_are_inverse_for_disjoint_sets():
    rng = np.random.default_rng(3)
    for state, moves in playout_positions("square8_3p")[::17]:
        sets = indices_for_moves(state, moves)
        probs = rng.dirichlet(np.ones(len(moves)))
        indices, values = policy_target(sets, probs)
        assert values.sum() == pytest.approx(1.0, abs=1e-5)
        logits = np.full(layout_for("square8").size, -50.0)
        logits[indices] = np.log(values)
        assert move_priors(logits, sets) == pytest.approx(probs, abs=1e-4)


def test_shared_index_probability_is_split_between_its_moves():
    sets = [(0, 1), (0, 2), (3,)]
    priors = move_priors(np.zeros(4), sets)
    assert priors == pytest.approx([0.375, 0.375, 0.25])
    indices, values = policy_target(sets, [0.5, 0.5, 0.0])
    assert indices.tolist() == [0, 1, 2, 3] and values.tolist() == pytest.approx([0.5, 0.25, 0.25, 0.0])


def test_the_target_lists_every_legal_move_even_with_no_probability():
    """The trainer's softmax runs over the target's indices: they are the legal moves, searched or not."""
    indices, values = policy_target([(4,), (7,), (9,)], [0.6, 1e-60, 0.4])  # as a vanishing prior leaves it
    assert indices.tolist() == [4, 7, 9] and values.tolist() == pytest.approx([0.6, 0.0, 0.4])
    assert float(values.sum()) == pytest.approx(1)
    indices, values = policy_target([(2,), (5,)], [1.0, 0.0])  # a move PUCT never visited
    assert indices.tolist() == [2, 5] and values.tolist() == [1.0, 0.0]


# -- symmetries ---------------------------------------------------------------------------


@pytest.mark.parametrize("board", ["square8", "square19", "hex8", "hexagonal"])
def test_symmetries_are_bijections_and_the_first_is_the_identity(board):
    syms = symmetries(board)
    assert len(syms) == (12 if board.startswith("hex") else 8)
    layout = layout_for(board)
    identity = syms[0]
    assert identity.is_identity
    assert np.array_equal(identity.policy_perm, np.arange(layout.size))
    assert np.array_equal(identity.grid_perm, np.arange(layout.grid.area))
    for sym in syms:
        assert sorted(sym.cells) == list(range(len(sym.cells)))
        assert np.array_equal(np.sort(sym.policy_perm), np.arange(layout.size))
        assert np.array_equal(sym.policy_perm[sym.policy_src], np.arange(layout.size))
        assert np.array_equal(np.sort(sym.grid_perm), np.arange(layout.grid.area))
        assert not (layout.grid.valid[sym.grid_perm] ^ layout.grid.valid).any()
    assert len({sym.cells for sym in syms}) == len(syms)


def symmetry_cases():
    for config in CONFIG_KEYS:
        positions = playout_positions(config)
        step = 12 if config in SMALL else 40
        yield from ((config, s, m) for s, m in positions[::step])
    for state in built_positions():
        yield f"{state.board.board_type}_{state.n}p", state, legal_moves(state)


def test_symmetries_commute_with_move_generation_indices_and_planes():
    checked = 0
    for config, state, moves in symmetry_cases():
        sets = indices_for_moves(state, moves)
        planes, globals_ = encode_state(state)
        for sym in symmetries(config):
            image = transform_state(sym, state)
            image_moves = legal_moves(image)
            mapped = [transform_move(sym, m) for m in moves]
            assert set(mapped) == set(image_moves) and len(mapped) == len(image_moves)
            for group, image_group in zip(sets, indices_for_moves(image, mapped)):
                assert sorted(transform_indices(sym, group).tolist()) == sorted(image_group)
            image_planes, image_globals = encode_state(image)
            assert np.array_equal(transform_planes(sym, planes), image_planes)
            assert np.array_equal(globals_, image_globals)
            checked += 1
    assert checked > 500


def test_identity_symmetry_leaves_states_and_moves_alone():
    for config in ("square8_2p", "hex8_4p"):
        identity = symmetries(config)[0]
        for state, moves in playout_positions(config)[::31]:
            assert transform_state(identity, state) == state
            assert [transform_move(identity, m) for m in moves] == moves


def test_dense_policy_and_sparse_indices_transform_alike():
    config = "hex8_2p"
    state, moves = playout_positions(config)[40]
    sets = indices_for_moves(state, moves)
    indices, values = policy_target(sets, np.full(len(moves), 1 / len(moves)))
    dense = np.zeros(layout_for("hex8").size, dtype=np.float32)
    dense[indices] = values
    for sym in symmetries(config):
        image = np.zeros_like(dense)
        image[transform_indices(sym, indices)] = values
        assert np.array_equal(transform_policy(sym, dense), image)


def test_only_hex8_has_inexact_symmetries():
    exact = {b: sum(sym.exact for sym in symmetries(b)) for b in ("square8", "square19", "hex8", "hexagonal")}
    assert exact == {"square8": 8, "square19": 8, "hex8": 4, "hexagonal": 12}


@pytest.mark.parametrize("config", ["square8_3p", "hex8_2p", "hex8_4p"])
def test_exact_symmetries_commute_with_applying_moves(config):
    rng = random.Random(11)
    decisions = [(s, m) for s, m in playout_positions(config) if s.phase != "ring_placement"]
    for state, moves in decisions[::9]:
        for move in rng.sample(moves, min(len(moves), 4)):
            after = apply_move(state, move, validate=False)
            for sym in symmetries(config):
                if sym.exact:
                    image = apply_move(transform_state(sym, state), transform_move(sym, move), validate=False)
                    assert transform_state(sym, after) == image


@settings(max_examples=25, deadline=None, derandomize=True)
@given(config=st.sampled_from(SMALL), seed=st.integers(0, 10**6), plies=st.integers(0, 400),
       which=st.integers(0, 11))
def test_random_positions_keep_unique_indices_under_a_symmetry(config, seed, plies, which):
    rng = random.Random(seed)
    state = initial_state(config)
    for _ in range(plies):
        if state.is_over():
            return
        moves = legal_moves(state)
        apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)
    if state.is_over():
        return
    moves = legal_moves(state)
    sets = indices_for_moves(state, moves)
    flat = [i for group, move in zip(sets, moves) if move.kind not in MAY_SHARE for i in group]
    assert len(flat) == len(set(flat))
    syms = symmetries(config)
    sym = syms[which % len(syms)]
    image = transform_state(sym, state)
    mapped = [transform_move(sym, m) for m in moves]
    assert set(mapped) == set(legal_moves(image))
    for group, image_group in zip(sets, indices_for_moves(image, mapped)):
        assert sorted(transform_indices(sym, group).tolist()) == sorted(image_group)
