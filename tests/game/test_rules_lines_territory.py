"""Lines, territory, forced elimination and recovery (RULES.md 8.6, 9-11.1)."""

from __future__ import annotations


def _cells(p, keys):
    return tuple(sorted(p.cell(k) for k in keys))


# -- lines ---------------------------------------------------------------------------


def test_exact_length_line_collapses_and_owes_one_top_ring(build):
    line = ["0,0", "1,0", "2,0", "3,0"]
    p = build(stacks={"5,5": [2, 1]}, markers={k: 1 for k in line}, phase="line_processing", acted=True)
    assert p.kinds() == {"process_line"}
    p.play("process_line")
    assert all(p.collapsed(k) == 1 for k in line) and p.s.territory[1] == 4
    assert p.s.pending_line and p.kinds() == {"eliminate_rings_from_stack"}
    p.play("eliminate_rings_from_stack", to="5,5")
    assert p.stack("5,5") == (2,) and p.s.elim[1] == 1
    # The owed ring is paid; the phase still needs its bookkeeping record.
    assert p.s.phase == "line_processing" and p.kinds() == {"no_line_action"}


def test_moving_stack_completes_a_line_of_its_own_markers(build):
    p = build(stacks={"3,0": [1]}, markers={"0,0": 1, "1,0": 1, "2,0": 1}, phase="movement")
    p.play("move_stack", frm="3,0", to="3,1")
    assert p.s.phase == "line_processing"
    assert {frozenset(m.cells) for m in p.moves("process_line")} == {frozenset(_cells(p, ["0,0", "1,0", "2,0", "3,0"]))}


def test_overlength_line_offers_collapse_all_or_any_window_of_length_l(build):
    line = ["0,0", "1,0", "2,0", "3,0", "4,0"]
    p = build(stacks={"5,5": [1]}, markers={k: 1 for k in line}, phase="line_processing", acted=True)
    options = p.moves("choose_line_option")
    assert len(options) == 3  # whole line + two 4-cell windows
    window = [m for m in options if len(m.collapse) == 4 and p.key(m.collapse[0]) == "1,0"][0]
    from ringrift_cli.game import apply_move

    after = apply_move(p.s, window)
    # Option 2: no ring owed, and with no line left the phase ends at once.
    assert not after.pending_line and after.phase != "line_processing"
    assert after.marker[p.cell("0,0")] == 1 and after.territory[1] == 4


def test_line_elimination_is_waived_without_a_controlled_stack(build):
    line = ["0,0", "1,0", "2,0", "3,0"]
    p = build(stacks={"5,5": [1, 2]}, markers={k: 1 for k in line}, phase="line_processing", acted=True)
    p.play("process_line")
    assert not p.s.pending_line and p.s.phase == "territory_processing"


def test_diagonal_markers_form_lines_on_square_boards(build):
    diag = ["0,0", "1,1", "2,2", "3,3"]
    p = build(stacks={"7,0": [1]}, markers={k: 1 for k in diag}, phase="line_processing", acted=True)
    assert p.kinds() == {"process_line"}


def test_three_and_four_player_small_boards_use_lines_of_three(build):
    p = build(
        players=3, stacks={"7,0": [1]}, markers={"0,0": 1, "1,0": 1, "2,0": 1}, phase="line_processing", acted=True
    )
    assert p.s.params.line_length == 3 and p.kinds() == {"process_line"}
    q = build(
        players=2, stacks={"7,0": [1]}, markers={"0,0": 1, "1,0": 1, "2,0": 1}, phase="line_processing", acted=True
    )
    assert q.kinds() == {"no_line_action"}


def test_other_players_markers_break_a_line(build):
    p = build(
        stacks={"7,7": [1]},
        markers={"0,0": 1, "1,0": 1, "2,0": 2, "3,0": 1, "4,0": 1},
        phase="line_processing",
        acted=True,
    )
    assert p.kinds() == {"no_line_action"}


def test_hex_lines_run_along_three_axes(build):
    line = ["-1,1,0", "0,0,0", "1,-1,0", "2,-2,0"]
    p = build(board="hex8", stacks={"0,3,-3": [1]}, markers={k: 1 for k in line}, phase="line_processing", acted=True)
    assert p.kinds() == {"process_line"}


# -- territory -----------------------------------------------------------------------


def _corner_position(build, **kw):
    # Player 1's markers seal the corner cell (0,0), where player 2 has a ring.
    stacks = {"0,0": [2], "6,6": [2], "5,5": [1, 1]}
    stacks.update(kw.pop("stacks", {}))
    return build(
        stacks=stacks,
        markers={"1,0": 1, "0,1": 1, "1,1": 1},
        phase="territory_processing",
        acted=True,
        **kw,
    )


def test_region_walled_by_one_colour_lacking_an_active_colour_is_processable(build):
    p = _corner_position(build)
    regions = p.moves("choose_territory_option")
    assert [tuple(m.cells) for m in regions] == [_cells(p, ["0,0"])]
    assert "skip_territory_processing" in p.kinds()


def test_region_processing_eliminates_inside_and_collapses_region_and_border(build):
    p = _corner_position(build)
    p.play("choose_territory_option")
    # The ring inside is eliminated and credited to the mover; the region
    # cell and the three border markers become the mover's territory.
    assert p.stack("0,0") is None and p.s.elim[1] == 1
    assert all(p.collapsed(k) == 1 for k in ["0,0", "1,0", "0,1", "1,1"])
    assert p.s.territory[1] == 4
    # Self-elimination owed: the whole cap of a stack outside the region.
    assert p.kinds() == {"eliminate_rings_from_stack"}
    p.play("eliminate_rings_from_stack", to="5,5")
    assert p.stack("5,5") is None and p.s.elim[1] == 3
    assert p.s.current == 2 and p.s.phase == "ring_placement"


def test_region_containing_every_active_colour_is_not_disconnected(build):
    p = _corner_position(build, stacks={"0,0": [1, 2, 1]})
    # Player 2 controls (6,6) only, player 1 controls (0,0) and (5,5): the
    # corner holds player 1 only, so it is a region; now put player 2 there.
    q = _corner_position(build, stacks={"0,0": [1]})
    assert p.moves("choose_territory_option") and q.moves("choose_territory_option")
    r = build(
        stacks={"0,0": [2], "0,2": [1], "6,6": [2], "5,5": [1]},
        markers={"2,0": 1, "1,1": 1, "0,3": 1, "1,2": 1},
        phase="territory_processing",
        acted=True,
    )
    # (0,0),(1,0),(0,1),(0,2) hold stacks of both players: no region there.
    assert all(r.cell("0,0") not in m.cells for m in r.moves("choose_territory_option"))


def test_region_needs_a_mover_stack_outside_it(build):
    p = build(stacks={"0,0": [1], "6,6": [2]}, markers={"1,0": 1, "0,1": 1}, phase="territory_processing", acted=True)
    # The corner holds the mover's only stack: nothing to pay with outside.
    assert all(p.cell("0,0") not in m.cells for m in p.moves("choose_territory_option"))


def test_region_bounded_only_by_collapsed_cells_with_one_controller(build):
    p = build(
        stacks={"0,0": [2], "6,6": [2], "5,5": [1]},
        collapsed={"1,0": 1, "0,1": 1},
        phase="territory_processing",
        acted=True,
    )
    assert [tuple(m.cells) for m in p.moves("choose_territory_option")] == [_cells(p, ["0,0"])]


def test_no_territory_action_when_no_region_and_nothing_owed(build):
    p = build(stacks={"3,3": [1], "6,6": [2]}, phase="territory_processing", acted=True)
    assert p.kinds() == {"no_territory_action"}
    p.play("no_territory_action")
    assert p.s.current == 2 and p.s.phase == "ring_placement"


def test_buried_rings_make_a_player_active_for_regions(build):
    # Player 2 controls no stack but owns a buried ring: the big component
    # without any player-2 stack is a region player 1 may claim.
    p = build(
        stacks={"3,3": [2, 1], "0,0": [1]}, markers={"1,0": 1, "0,1": 1}, phase="territory_processing", acted=True
    )
    assert p.moves("choose_territory_option")


# -- forced elimination ----------------------------------------------------------------


def test_blocked_player_walks_bookkeeping_then_forced_elimination(build):
    # Player 2 has rings only in hand, so no region exists anywhere.
    walls = {"1,0": 2, "0,1": 2, "1,1": 2}
    p = build(stacks={"0,0": [1, 1]}, collapsed=walls, hands={1: 0})
    p.play("no_placement_action").play("no_movement_action").play("no_line_action")
    assert p.s.phase == "forced_elimination"
    assert p.kinds() == {"forced_elimination"}
    p.play("forced_elimination", to="0,0")
    assert p.stack("0,0") is None and p.s.elim[1] == 2
    assert p.s.current == 2 and p.s.phase == "ring_placement"


def test_forced_elimination_removes_the_whole_cap_only(build):
    walls = {"1,0": 2, "0,1": 2, "1,1": 2}
    p = build(stacks={"0,0": [2, 1, 1]}, collapsed=walls, hands={1: 0}, phase="forced_elimination")
    p.play("forced_elimination", to="0,0")
    assert p.stack("0,0") == (2,) and p.s.elim[1] == 2


def test_forced_elimination_offers_every_controlled_stack(build):
    walls = {"1,0": 2, "0,1": 2, "1,1": 2, "6,7": 2, "7,6": 2, "6,6": 2}
    p = build(stacks={"0,0": [1], "7,7": [1, 1], "3,3": [2]}, collapsed=walls, hands={1: 0}, phase="forced_elimination")
    assert {p.key(m.to) for m in p.moves()} == {"0,0", "7,7"}


# -- recovery ----------------------------------------------------------------------------


def test_recovery_needs_no_stack_a_marker_and_a_buried_ring(build):
    p = build(stacks={"5,5": [1, 2]}, markers={"0,0": 1}, hands={1: 0}, phase="movement")
    assert "skip_recovery" in p.kinds() and "recovery_slide" in p.kinds()
    q = build(stacks={"5,5": [2, 2]}, markers={"0,0": 1}, hands={1: 0}, phase="movement")
    assert q.kinds() == {"no_movement_action"}


def test_recovery_eligible_player_with_rings_may_skip_placement(build):
    p = build(stacks={"5,5": [1, 2]}, markers={"0,0": 1}, hands={1: 3})
    assert "skip_placement" in p.kinds()


def test_recovery_line_slide_collapses_line_and_extracts_a_buried_ring(build):
    p = build(
        stacks={"5,5": [1, 2], "7,7": [1, 2]},
        markers={"0,0": 1, "1,0": 1, "2,0": 1, "3,1": 1},
        hands={1: 0},
        phase="movement",
    )
    slides = p.find("recovery_slide", frm="3,1", to="3,0")
    # One choice per stack the buried ring may be extracted from.
    assert [m.mode for m in slides] == ["line", "line"]
    p.play("recovery_slide", frm="3,1", to="3,0", extraction=p.cell("5,5"))
    assert all(p.collapsed(k) == 1 for k in ["0,0", "1,0", "2,0", "3,0"])
    assert p.stack("5,5") == (2,) and p.s.elim[1] == 1 and p.s.territory[1] == 4
    assert p.s.phase == "line_processing" and p.s.had_recovery


def test_recovery_fallback_only_when_no_line_slide_exists(build):
    with_line = build(
        stacks={"5,5": [1, 2]}, markers={"0,0": 1, "1,0": 1, "2,0": 1, "3,1": 1}, hands={1: 0}, phase="movement"
    )
    assert {m.mode for m in with_line.moves("recovery_slide")} == {"line"}
    without = build(stacks={"5,5": [1, 2]}, markers={"0,0": 1}, hands={1: 0}, phase="movement")
    assert {m.mode for m in without.moves("recovery_slide")} == {"fallback"}


def test_recovery_stack_strike_eliminates_the_top_ring_and_pays_extraction(build):
    p = build(stacks={"5,5": [1, 2], "7,7": [1, 2]}, markers={"4,4": 1}, hands={1: 0}, phase="movement")
    strikes = p.find("recovery_slide", frm="4,4", to="5,5", mode="stack_strike")
    assert strikes
    p.play("recovery_slide", frm="4,4", to="5,5", mode="stack_strike", extraction=p.cell("7,7"))
    assert p.marker("4,4") == 0
    assert p.stack("5,5") == (1,) and p.stack("7,7") == (2,)
    assert p.s.elim[1] == 2
