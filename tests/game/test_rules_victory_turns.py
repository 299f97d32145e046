"""Victory conditions, ranking, turn rotation, LPS and the pie rule
(RULES.md 3, 6.2, 7.4, 11.3-11.5, 12)."""

from __future__ import annotations

import pytest

from ringrift_cli.game import RulesOptions, apply_move, final_ranks, game_result, initial_state, legal_moves
from ringrift_cli.game.positions import position

# board, players -> (rings, line length, elimination threshold, territory minimum)
TABLE = {
    ("square8", 2): (18, 4, 18, 33),
    ("square8", 3): (18, 3, 24, 22),
    ("square8", 4): (18, 3, 30, 17),
    ("hex8", 2): (18, 4, 18, 31),
    ("hex8", 3): (18, 3, 24, 21),
    ("hex8", 4): (18, 3, 30, 16),
    ("square19", 2): (72, 4, 72, 181),
    ("square19", 3): (72, 4, 96, 121),
    ("square19", 4): (72, 4, 120, 91),
    ("hexagonal", 2): (96, 4, 96, 235),
    ("hexagonal", 3): (96, 4, 128, 157),
    ("hexagonal", 4): (96, 4, 160, 118),
}


@pytest.mark.parametrize("board,players", sorted(TABLE))
def test_parameters_follow_the_rules_table(board, players):
    s = initial_state(f"{board}_{players}p")
    rings, line, elim, terr = TABLE[(board, players)]
    assert (
        s.params.rings_per_player,
        s.params.line_length,
        s.params.victory_threshold,
        s.params.territory_minimum,
    ) == (
        rings,
        line,
        elim,
        terr,
    )
    assert s.hand[1:] == [rings] * players and s.current == 1 and s.phase == "ring_placement"


def test_ring_elimination_victory_when_threshold_is_reached(build):
    p = build(stacks={"0,0": [1, 1], "5,5": [2]}, markers={"2,0": 2}, phase="movement")
    p.s.elim[1] = 17
    p.play("move_stack", frm="0,0", to="2,0")
    r = game_result(p.s)
    assert r.over and r.winner == 1 and r.reason == "ring_elimination"
    assert p.s.phase == "game_over" and p.s.current == 1
    assert legal_moves(p.s) == []


def test_territory_victory_needs_the_minimum_and_more_than_all_opponents(build):
    def state(legacy):
        p = build(
            players=3,
            stacks={"0,0": [1, 1], "6,6": [2], "7,7": [3]},
            markers={"1,0": 1},
            phase="movement",
            options=RulesOptions(legacy_territory_threshold=legacy),
        )
        p.s.territory[1] = 21
        return p.play("move_stack", frm="0,0", to="2,0")

    assert game_result(state(False).s).reason == "territory_control"  # 22 >= floor(64/3)+1
    assert not game_result(state(True).s).over  # legacy minimum is 33


def test_territory_victory_fails_without_a_majority(build):
    p = build(players=3, stacks={"0,0": [1, 1], "6,6": [2], "7,7": [3]}, markers={"1,0": 1}, phase="movement")
    p.s.territory[1] = 21
    p.s.territory[2] = 12
    p.s.territory[3] = 11
    p.play("move_stack", frm="0,0", to="2,0")
    assert not game_result(p.s).over


def test_bare_board_stalemate_is_won_on_territory(build):
    walls = {"1,0": 2, "0,1": 2, "1,1": 2}
    p = build(stacks={"0,0": [1]}, collapsed=walls, hands={1: 0, 2: 0}, phase="forced_elimination")
    p.s.territory[1] = 2
    p.play("forced_elimination", to="0,0")
    r = game_result(p.s)
    assert r.over and r.winner == 2 and r.reason == "game_completed"


def test_stalemate_counts_rings_in_hand_as_eliminated_for_the_tie_break(build):
    p = build(
        stacks={"0,0": [1]},
        collapsed={"1,0": 1, "0,1": 2, "1,1": 1, "2,2": 2},
        hands={1: 0, 2: 0},
        phase="forced_elimination",
    )
    p.s.territory[1] = p.s.territory[2] = 2
    p.s.hand[2] = 0
    p.s.elim[2] = 1
    p.play("forced_elimination", to="0,0")
    # Territory ties at 2; player 1 has 1 eliminated ring (its own last
    # ring) against player 2's 1: then markers (0 each), then last actor.
    assert game_result(p.s).winner == 1


def test_sole_survivor_wins_as_last_player_standing(build):
    # Player 2's only ring sits under player 1's cap; capturing strips it.
    p = build(stacks={"0,0": [1, 1], "1,0": [1]}, hands={1: 0, 2: 0}, phase="movement")
    p.play("overtaking_capture", frm="0,0", target="1,0", to="3,0")
    assert game_result(p.s).winner == 1 and p.s.victory_reason == "last_player_standing"


def test_final_ranks_share_exact_ties_and_skip_the_next_rank(build):
    p = build(players=3, stacks={"0,0": [1], "5,5": [2], "7,7": [3]})
    p.s.territory[1] = 5
    ranks = [(r.player, r.rank) for r in final_ranks(p.s)]
    assert ranks == [(1, 1), (2, 2), (3, 2)]


def test_turn_rotation_skips_players_without_any_ring(build):
    p = build(players=3, stacks={"3,3": [1], "6,6": [3]}, hands={2: 0}, phase="territory_processing", acted=True)
    p.play("no_territory_action")
    assert p.s.current == 3


def test_players_with_only_buried_rings_keep_their_turns(build):
    p = build(players=3, stacks={"3,3": [2, 1], "6,6": [3]}, hands={2: 0}, phase="territory_processing", acted=True)
    p.play("no_territory_action")
    assert p.s.current == 2 and p.kinds() == {"no_placement_action"}
    p.play("no_placement_action")
    assert p.kinds() == {"no_movement_action"}


def test_last_player_standing_after_three_exclusive_rounds(build):
    # Player 2 owns rings (buried under player 1's caps) but can never act.
    p = build(stacks={"0,0": [2, 1, 1, 1], "7,7": [2, 1, 1, 1]}, hands={1: 6, 2: 0})
    for _ in range(200):
        if p.s.is_over():
            break
        moves = legal_moves(p.s)
        quiet = [m for m in moves if m.kind not in ("overtaking_capture", "continue_capture_segment")]
        p.s = apply_move(p.s, (quiet or moves)[0])
    r = game_result(p.s)
    assert r.over and r.winner == 1 and r.reason == "last_player_standing"


def test_swap_sides_is_offered_once_to_the_second_player():
    s = initial_state("square8_2p", RulesOptions(swap_rule=True))
    assert "swap_sides" not in {m.kind for m in legal_moves(s)}
    while s.current == 1:
        s = apply_move(s, legal_moves(s)[0])
    kinds = {m.kind for m in legal_moves(s)}
    assert "swap_sides" in kinds
    swap = [m for m in legal_moves(s) if m.kind == "swap_sides"][0]
    after = apply_move(s, swap)
    assert after.swapped and after.current == 2 and after.phase == "ring_placement"
    assert "swap_sides" not in {m.kind for m in legal_moves(after)}


def test_swap_rule_is_off_by_default_and_never_offered_with_three_players():
    for key in ("square8_2p", "square8_3p"):
        s = initial_state(key, RulesOptions(swap_rule=key.endswith("3p")))
        for _ in range(12):
            assert "swap_sides" not in {m.kind for m in legal_moves(s)}
            s = apply_move(s, legal_moves(s)[0])


def test_quiet_turn_records_four_moves():
    s = initial_state("square8_2p")
    kinds = []
    while s.current == 1:
        m = [m for m in legal_moves(s) if m.kind != "overtaking_capture"][0]
        kinds.append(m.kind)
        s = apply_move(s, m)
    assert kinds == ["place_ring", "move_stack", "no_line_action", "no_territory_action"]


def test_position_helper_fills_hands_from_the_supply():
    s = position("hex8", 2, stacks={"0,0,0": [1, 2]})
    assert s.hand[1] == 17 and s.hand[2] == 17


def test_four_player_rotation_skips_every_seat_without_rings(build):
    p = build(players=4, stacks={"3,3": [1], "6,6": [4]}, hands={2: 0, 3: 0}, phase="territory_processing", acted=True)
    p.play("no_territory_action")
    assert p.s.current == 4


def test_four_player_region_lacking_any_one_active_colour_is_disconnected(build):
    # The corner (0,0)-(1,0)-(0,1) holds stacks of players 2 and 3 but not 4.
    p = build(
        players=4,
        stacks={"0,0": [2], "1,0": [3], "5,5": [1], "6,6": [4], "7,7": [2]},
        markers={"2,0": 1, "1,1": 1, "0,1": 1},
        phase="territory_processing",
        acted=True,
    )
    regions = {frozenset(p.key(c) for c in m.cells) for m in p.moves("choose_territory_option")}
    assert frozenset({"0,0", "1,0"}) in regions


def test_four_player_elimination_threshold_is_thirty_on_square8(build):
    p = build(
        players=4, stacks={"0,0": [1, 1], "6,6": [2], "7,7": [3], "5,5": [4]}, markers={"2,0": 2}, phase="movement"
    )
    p.s.elim[1] = 29
    p.play("move_stack", frm="0,0", to="2,0")
    assert game_result(p.s).winner == 1
