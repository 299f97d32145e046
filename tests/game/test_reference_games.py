"""Differential test: our engine against the reference engine's recorded
random games (../shared/conformance/reference-games, two per config).

Every ply compares the legal-move set, the position after the recorded
move and, at the end, the result; only the README's documented departures
(a)-(f) may differ (see reference_replay.py).
"""

from __future__ import annotations

import json

import pytest
from conformance_paths import conformance_dir, missing_reason
from reference_replay import Disagreement, compare_keys, replay_game

from ringrift_cli.game import Move, legal_moves
from ringrift_cli.game.positions import position
from ringrift_cli.game.reference_keys import board_text, move_key

ROOT = conformance_dir() / "reference-games"
GAMES = sorted(ROOT.glob("*.json")) if ROOT.is_dir() else []
MISSING = missing_reason(ROOT, "reference games")


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _cases():
    if not GAMES:
        return [pytest.param(None, id="reference-games-missing", marks=pytest.mark.skip(reason=MISSING))]
    return [pytest.param(path, id=path.stem) for path in GAMES]


@pytest.mark.parametrize("path", _cases())
def test_reference_game(path):
    doc = _load(path)
    replay = replay_game(doc)
    if replay.stopped:
        # A documented departure was played: RULES.md rejects that move.
        assert replay.plies < len(doc["moves"])
    else:
        assert replay.plies == len(doc["moves"])


# -- the comparison can fail --------------------------------------------------------


def _small_game():
    path = ROOT / "square8_2p_seed2001.json"
    if not path.is_file():
        pytest.skip(MISSING)
    return _load(path)


def _replay_fails(doc, match: str):
    with pytest.raises(Disagreement, match=match):
        replay_game(doc)


def test_a_different_board_after_a_move_is_reported():
    doc = _small_game()
    doc["positions"][10]["board_sha1"] = "0" * 16
    _replay_fails(doc, "ply 10 .*position differs")


def test_a_different_player_to_move_is_reported():
    doc = _small_game()
    doc["positions"][7]["current_player"] = 3 - doc["positions"][7]["current_player"]
    _replay_fails(doc, "ply 7 .*current_player")


def test_a_move_only_the_record_lists_is_reported():
    doc = _small_game()
    doc["positions"][0]["legal_keys"].append("move_stack|from=0,0|to=0,7")
    _replay_fails(doc, "ply 1 .*only the record lists move_stack")


def test_a_move_only_we_list_is_reported():
    doc = _small_game()
    dropped = doc["positions"][0]["legal_keys"].pop()
    _replay_fails(doc, f"ply 1 .*only we list {dropped}")


def test_a_different_result_is_reported():
    doc = _small_game()
    doc["result"]["winner"] = 3 - doc["result"]["winner"]
    _replay_fails(doc, "result differs")


def _keys_of(s):
    legal = legal_moves(s)
    return legal, [move_key(s, m) for m in legal]


def test_a_recovery_paid_from_a_stack_we_do_not_offer_is_reported():
    s = position("square8", 3, stacks={"5,5": [1, 2], "0,0": [3]}, markers={"4,4": 1}, hands={1: 0}, phase="movement")
    legal, ours = _keys_of(s)
    ref = [k.replace("extract=5,5", "extract=0,0") for k in ours]
    with pytest.raises(Disagreement, match="we pay from"):
        compare_keys(s, legal, ours, ref)
    # One of our stacks for every slide is the documented departure (b).
    stacks = {"5,5": [1, 2], "0,0": [1, 3]}
    t = position("square8", 3, stacks=stacks, markers={"4,4": 1}, hands={1: 0}, phase="movement")
    legal, ours = _keys_of(t)
    assert compare_keys(t, legal, ours, [k for k in ours if "extract=5,5" not in k]) == ["b"]


def test_a_placement_count_the_rules_allow_is_not_taken_for_departure_c():
    s = position("square8", 3, stacks={"3,3": [2]})
    legal, ours = _keys_of(s)
    assert "place_ring|to=0,0|n=1" in ours
    with pytest.raises(Disagreement, match="only the record lists place_ring"):
        compare_keys(s, legal, [k for k in ours if k != "place_ring|to=0,0|n=1"], ours)


def test_skip_placement_is_departure_f_only_where_a_stack_lands_on_a_stack():
    # Player 1's single ring at 0,0 is walled in but for 0,1, and 0,2 holds
    # a stack: distance 2 from a height-1 stack is in H..H+5.
    walls = {"1,0": 2, "1,1": 2}
    s = position("square8", 3, stacks={"0,0": [1], "0,1": [3, 3], "0,2": [2]}, collapsed=walls)
    legal, ours = _keys_of(s)
    assert "skip_placement" not in ours
    assert compare_keys(s, legal, ours, ours + ["skip_placement"]) == ["f"]
    t = position("square8", 3, stacks={"5,5": [2]}, hands={1: 5})
    legal, ours = _keys_of(t)
    with pytest.raises(Disagreement, match="only the record lists skip_placement"):
        compare_keys(t, legal, ours, ours + ["skip_placement"])


def test_keys_and_board_text_follow_the_readme_examples():
    s = position("square8", 2, stacks={"3,4": [1, 2]}, markers={"0,0": 2})
    assert board_text(s) == "S:3,4=1.2|M:0,0=2|C:"
    c = s.board.cell_of
    line = tuple(c(k) for k in ("4,6", "5,6", "6,6", "7,6"))
    examples = {
        "place_ring|to=3,4|n=2": Move("place_ring", 1, c("3,4"), count=2),
        "move_stack|from=0,5|to=0,1": Move("move_stack", 1, c("0,1"), c("0,5")),
        "overtaking_capture|from=6,2|to=0,2|cap=1,2": Move("overtaking_capture", 1, c("0,2"), c("6,2"), c("1,2")),
        "no_line_action": Move("no_line_action", 1, c("0,0")),
        "choose_line_option|lines=4,6;5,6;6,6;7,6|collapse=4,6;5,6;6,6;7,6": Move(
            "choose_line_option", 1, line[2], cells=line, collapse=line
        ),
        "eliminate_rings_from_stack|to=7,5|ctx=territory": Move(
            "eliminate_rings_from_stack", 1, c("7,5"), context="territory"
        ),
        "recovery_slide|from=6,2|to=5,1|rmode=fallback|extract=2,4": Move(
            "recovery_slide", 1, c("5,1"), c("6,2"), mode="fallback", extraction=c("2,4")
        ),
    }
    assert {move_key(s, m): m for m in examples.values()}.keys() == examples.keys()
