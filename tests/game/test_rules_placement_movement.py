"""Placement, movement and capture rules (RULES.md 7-8) on small positions.

Stacks are written bottom to top: ``[2, 1]`` is a ring of player 2 under a
ring of player 1 (controlled by player 1)."""

from __future__ import annotations

import pytest

from ringrift_cli.game import IllegalMoveError, apply_move, initial_state, legal_moves
from ringrift_cli.game.moves import Move

# -- placement -------------------------------------------------------------------


def test_placement_on_empty_board_offers_one_to_three_rings_everywhere():
    s = initial_state("square8_2p")
    moves = legal_moves(s)
    assert {m.kind for m in moves} == {"place_ring"}
    assert len(moves) == 64 * 3


def test_placement_on_any_stack_adds_exactly_one_ring_on_top(build):
    p = build(stacks={"3,3": [2, 2]}, phase="ring_placement")
    on_stack = p.find("place_ring", to="3,3")
    assert [m.count for m in on_stack] == [1]
    p.play("place_ring", to="3,3")
    assert p.stack("3,3") == (2, 2, 1)
    assert p.s.cap[p.cell("3,3")] == 1 and p.s.phase == "movement"
    assert p.s.must_move == p.cell("3,3")


def test_placement_forbidden_on_markers_and_collapsed_cells(build):
    p = build(markers={"1,1": 2}, collapsed={"2,2": 1})
    targets = {m.to for m in p.moves("place_ring")}
    assert p.cell("1,1") not in targets and p.cell("2,2") not in targets


def test_dead_placement_is_not_legal(build):
    # (0,0) walled in by collapsed cells: a ring placed there could never move.
    p = build(collapsed={"1,0": 2, "0,1": 2, "1,1": 2})
    assert not p.find("place_ring", to="0,0")


def test_placement_counts_are_checked_one_by_one(build):
    # One ring at (0,0) cannot move or capture the cap-2 stack at (1,0);
    # two or three rings can capture it and land beyond.
    p = build(stacks={"1,0": [2, 2]}, collapsed={"0,1": 2, "1,1": 2})
    assert sorted(m.count for m in p.find("place_ring", to="0,0")) == [2, 3]


def test_placement_limited_by_rings_in_hand(build):
    p = build(hands={1: 2})
    assert max(m.count for m in p.moves("place_ring")) == 2


def test_placement_limited_by_own_rings_already_on_board(build):
    # 17 of player 1's 18 rings are on the board: only one more may be placed.
    p = build(stacks={"0,0": [1] * 17}, hands={1: 5})
    assert {m.count for m in p.moves("place_ring")} == {1}


def test_skip_placement_needs_a_stack_that_can_move(build):
    p = build(stacks={"3,3": [1]})
    assert "skip_placement" in p.kinds()
    blocked = build(stacks={"0,0": [1]}, collapsed={"1,0": 2, "0,1": 2, "1,1": 2})
    assert "skip_placement" not in blocked.kinds()


def test_placement_is_mandatory_without_stacks(build):
    p = build()
    assert "skip_placement" not in p.kinds()


def test_no_placement_action_when_no_rings_in_hand(build):
    p = build(stacks={"3,3": [1]}, hands={1: 0})
    assert p.kinds() == {"no_placement_action"}
    p.play("no_placement_action")
    assert p.s.phase == "movement"


def test_placed_stack_is_the_only_one_that_may_move(build):
    p = build(stacks={"6,6": [1]})
    p.play("place_ring", to="2,2", count=1)
    assert {m.frm for m in p.moves()} == {p.cell("2,2")}


# -- movement ----------------------------------------------------------------------


def test_stack_moves_at_least_its_height(build):
    p = build(stacks={"0,0": [1, 1, 1]}, phase="movement", hands={1: 0})
    dists = {
        max(abs(a - b) for a, b in zip(p.s.board.coords[m.frm], p.s.board.coords[m.to])) for m in p.moves("move_stack")
    }
    assert min(dists) == 3


def test_movement_ray_stops_at_stacks_and_collapsed_cells(build):
    p = build(stacks={"0,0": [1], "0,3": [2, 2]}, collapsed={"3,0": 2}, phase="movement", hands={1: 0})
    south = {p.key(m.to) for m in p.moves("move_stack") if p.s.board.coords[m.to][0] == 0}
    east = {p.key(m.to) for m in p.moves("move_stack") if p.s.board.coords[m.to][1] == 0}
    assert south == {"0,1", "0,2"}
    assert east == {"1,0", "2,0"}


def test_moving_leaves_a_departure_marker(build):
    p = build(stacks={"3,3": [1]}, phase="movement")
    p.play("move_stack", frm="3,3", to="3,4")
    assert p.marker("3,3") == 1 and p.stack("3,4") == (1,)


def test_moving_over_an_opponent_marker_flips_it(build):
    p = build(stacks={"0,0": [1, 1]}, markers={"1,0": 2}, phase="movement")
    p.play("move_stack", frm="0,0", to="2,0")
    assert p.marker("1,0") == 1


def test_moving_over_an_own_marker_collapses_it_to_territory(build):
    p = build(stacks={"0,0": [1, 1]}, markers={"1,0": 1}, phase="movement")
    p.play("move_stack", frm="0,0", to="2,0")
    assert p.collapsed("1,0") == 1 and p.marker("1,0") == 0
    assert p.s.territory[1] == 1


def test_landing_on_a_marker_removes_it_and_eliminates_the_top_ring(build):
    p = build(stacks={"0,0": [2, 1]}, markers={"2,0": 2}, phase="movement")
    p.play("move_stack", frm="0,0", to="2,0")
    # Top ring (player 1) eliminated and credited to the mover; control
    # passes to the buried ring's owner.
    assert p.stack("2,0") == (2,) and p.marker("2,0") == 0
    assert p.s.elim[1] == 1 and p.s.total_elim == 1


def test_no_movement_action_when_nothing_can_move(build):
    p = build(stacks={"0,0": [1]}, collapsed={"1,0": 2, "0,1": 2, "1,1": 2}, phase="movement", hands={1: 0})
    assert p.kinds() == {"no_movement_action"}


# -- capture -------------------------------------------------------------------------


def test_overtaking_capture_requires_cap_height_at_least_target(build):
    weak = build(stacks={"0,0": [1], "1,0": [2, 2]}, phase="movement")
    assert not weak.find("overtaking_capture", frm="0,0")
    strong = build(stacks={"0,0": [1, 1], "1,0": [2, 2]}, phase="movement")
    assert strong.find("overtaking_capture", frm="0,0", target="1,0")


def test_capture_takes_the_top_ring_to_the_bottom_of_the_attacker(build):
    p = build(stacks={"0,0": [1, 1], "1,0": [1, 2]}, phase="movement")
    p.play("overtaking_capture", frm="0,0", target="1,0", to="2,0")
    assert p.stack("2,0") == (2, 1, 1)
    assert p.stack("1,0") == (1,)
    assert p.marker("0,0") == 1 and p.s.total_elim == 0


def test_capture_may_land_on_any_free_cell_beyond_the_target(build):
    p = build(stacks={"0,0": [1], "1,0": [2]}, phase="movement")
    landings = {p.key(m.to) for m in p.find("overtaking_capture", frm="0,0", target="1,0")}
    assert landings == {f"{x},0" for x in range(2, 8)}


def test_capture_distance_counts_from_origin_and_respects_height(build):
    p = build(stacks={"0,0": [1, 1, 1], "1,0": [2]}, phase="movement")
    landings = {p.key(m.to) for m in p.find("overtaking_capture", frm="0,0", target="1,0")}
    assert "2,0" not in landings and "3,0" in landings


def test_capturing_an_own_stack_is_allowed(build):
    p = build(stacks={"0,0": [1], "1,0": [1]}, phase="movement")
    assert p.find("overtaking_capture", frm="0,0", target="1,0")


def test_chain_capture_must_continue_and_may_reverse(build):
    # After jumping (3,0) from (2,0) to (4,0), the height-3 stack can jump
    # back over what is left of (3,0) or on over (6,0); no skip is offered.
    p = build(stacks={"2,0": [1, 1], "3,0": [2, 2], "6,0": [2]}, phase="movement")
    p.play("overtaking_capture", frm="2,0", target="3,0", to="4,0")
    assert p.s.phase == "chain_capture"
    assert p.kinds() == {"continue_capture_segment"}
    assert {p.key(m.target) for m in p.moves()} == {"3,0", "6,0"}
    assert {p.key(m.to) for m in p.find("continue_capture_segment", target="3,0")} == {"1,0", "0,0"}
    p.play("continue_capture_segment", target="3,0", to="0,0")
    assert p.stack("0,0") == (2, 2, 1, 1) and p.stack("3,0") is None


def test_move_followed_by_possible_capture_enters_capture_phase_with_skip(build):
    p = build(stacks={"0,0": [1], "2,0": [2]}, phase="movement", hands={1: 0})
    p.play("move_stack", frm="0,0", to="1,0")
    assert p.s.phase == "capture"
    assert p.kinds() == {"overtaking_capture", "skip_capture"}
    p.play("skip_capture")
    assert p.s.phase == "line_processing"


def test_illegal_move_is_rejected_with_a_reason(build):
    p = build(stacks={"3,3": [1]}, phase="movement")
    bad = Move("move_stack", 1, p.cell("5,4"), p.cell("3,3"))
    with pytest.raises(IllegalMoveError):
        apply_move(p.s, bad)


def test_hex_board_moves_along_six_directions(build):
    p = build(board="hex8", stacks={"0,0,0": [1]}, phase="movement")
    first_steps = {p.key(m.to) for m in p.moves("move_stack") if p.s.board.distance(m.frm, m.to) == 1}
    assert first_steps == {"1,0,-1", "0,1,-1", "-1,1,0", "-1,0,1", "0,-1,1", "1,-1,0"}
