"""The public API: configs, serialization, reference loading, replay
checking, seeded play and rendering."""

from __future__ import annotations

import json

import pytest

from ringrift_cli.game import (
    CONFIG_KEYS,
    FormatError,
    UnknownConfigError,
    UnreadableInputError,
    check_document,
    check_file,
    fingerprint,
    initial_state,
    legal_moves,
    load_reference_move,
    load_reference_state,
    move_from_json,
    move_to_json,
    play_game,
    render,
    result_to_json,
    state_from_json,
    state_to_json,
)


def test_twelve_config_keys():
    assert len(CONFIG_KEYS) == 12
    for key in CONFIG_KEYS:
        assert initial_state(key).n == int(key[-2])


def test_unknown_config_raises_a_value_error_listing_the_valid_keys():
    with pytest.raises(UnknownConfigError) as info:
        initial_state("square9_2p")
    assert isinstance(info.value, ValueError)
    assert "square8_2p" in str(info.value) and "hexagonal_4p" in str(info.value)


def test_state_json_round_trip_and_stable_key_order():
    game = play_game("hex8_3p", seed=5, max_moves=80)
    doc = state_to_json(game.state)
    text = json.dumps(doc, sort_keys=True)
    back = state_from_json(json.loads(text))
    assert back == game.state and back.state_hash() == game.state.state_hash()
    assert json.dumps(state_to_json(back), sort_keys=True) == text


def test_move_json_uses_position_keys():
    s = initial_state("square8_2p")
    m = legal_moves(s)[5]
    doc = move_to_json(m, s.board)
    assert doc == {"type": "place_ring", "player": 1, "to": "0,1", "count": 3}
    assert move_from_json(doc, s.board) == m


def test_bad_state_documents_raise_format_error():
    with pytest.raises(FormatError):
        state_from_json({"format": "something-else"})
    with pytest.raises(FormatError):
        load_reference_state({"board": {"type": "square7"}, "players": [{}]})


TS_STATE = {
    "board": {
        "type": "square8",
        "size": 8,
        "stacks": {"2,2": {"rings": [1, 2, 2], "stackHeight": 3, "capHeight": 1, "controllingPlayer": 1}},
        "markers": {"3,3": {"player": 2}},
        "collapsedSpaces": {"4,4": 1},
    },
    "players": [
        {"playerNumber": 1, "ringsInHand": 17, "eliminatedRings": 0, "territorySpaces": 1},
        {"playerNumber": 2, "ringsInHand": 16, "eliminatedRings": 0, "territorySpaces": 0},
    ],
    "currentPlayer": 1,
    "currentPhase": "ring_placement",
    "gameStatus": "active",
    "moveHistory": [],
}


def test_reference_states_load_in_either_ring_order():
    top_first = load_reference_state(TS_STATE)
    assert top_first.rings[top_first.board.cell_of("2,2")] == (2, 2, 1)
    bottom = json.loads(json.dumps(TS_STATE))
    bottom["board"]["stacks"]["2,2"]["rings"] = [2, 2, 1]
    assert fingerprint(load_reference_state(bottom, ring_order="bottom_first")) == fingerprint(top_first)
    assert fingerprint(load_reference_state(bottom, ring_order="auto")) == fingerprint(top_first)
    with pytest.raises(FormatError):
        load_reference_state(bottom, ring_order="top_first")


def test_reference_moves_with_legacy_names_and_hex_keys_without_z():
    s = initial_state("hex8_2p")
    m = load_reference_move({"type": "move_ring", "player": 1, "from": {"x": 0, "y": 0}, "to": "1,0"}, s.board)
    assert m.kind == "move_stack" and m.frm == s.board.cell_of("0,0,0") and m.to == s.board.cell_of("1,0,-1")
    assert load_reference_move({"type": "chain_capture", "player": 1}, s.board).kind == "continue_capture_segment"
    with pytest.raises(FormatError):
        load_reference_move({"type": "teleport", "player": 1}, s.board)


def test_fingerprint_matches_the_reference_layout():
    s = load_reference_state(TS_STATE)
    assert fingerprint(s) == "1:ring_placement:active:0#1:17:0:1|2:16:0:0#2,2:1:3:1#3,3:2#4,4:1"


def _record(config, seed, n):
    game = play_game(config, seed=seed, max_moves=n)
    board = game.state.board
    moves = []
    for m in game.moves:
        doc = {"type": m.kind, "player": m.player}
        for name, cell in (("to", m.to), ("from", m.frm), ("captureTarget", m.target)):
            if cell >= 0:
                x = board.coords[cell]
                doc[name] = dict(zip("xyz", x))
        if m.count:
            doc["placementCount"] = m.count
        if m.cells and m.kind == "choose_territory_option":
            doc["disconnectedRegions"] = [{"spaces": [dict(zip("xyz", board.coords[c])) for c in m.cells]}]
        elif m.cells:
            doc["formedLines"] = [{"positions": [dict(zip("xyz", board.coords[c])) for c in m.cells]}]
            doc["collapsedMarkers"] = [dict(zip("xyz", board.coords[c])) for c in m.collapse]
        if m.kind == "recovery_slide":
            doc["recoveryMode"] = m.mode
            doc["option"] = m.option
            if m.extraction >= 0:
                doc["extractionStacks"] = [board.keys[m.extraction]]
            if m.option == 2:
                doc["collapsePositions"] = [dict(zip("xyz", board.coords[c])) for c in m.collapse]
        if m.context:
            doc["eliminationContext"] = m.context
        moves.append(doc)
    return {"boardType": config.split("_")[0], "numPlayers": int(config[-2]), "moves": moves}, game


@pytest.mark.parametrize("config", ["square8_2p", "hex8_4p", "square8_3p"])
def test_replaying_our_own_games_agrees_to_the_end(config):
    record, game = _record(config, seed=11, n=10_000)
    result = check_document(record)
    assert result.ok, result.divergence
    doc = result_to_json(result)
    assert len(doc["plies"]) == len(game.moves)
    assert doc["plies"][0] == {
        "ply": 1,
        "legal": len(legal_moves(initial_state(config))),
        "phase": "ring_placement",
        "player": 1,
    }
    assert doc["final"]["winner"] == game.winner
    assert doc["final"]["players"][0].keys() == {"player", "rings_in_hand", "eliminated", "territory"}


def test_replay_reports_the_first_illegal_move():
    record, _ = _record("square8_2p", seed=3, n=30)
    i = next(i for i, m in enumerate(record["moves"]) if i > 4 and m["player"] == 1)
    record["moves"][i] = dict(record["moves"][i], player=2)
    result = check_document(record)
    assert not result.ok and result.divergence.ply == i + 1
    assert "player" in result.divergence.reason
    doc = result_to_json(result)
    assert doc["divergence"]["ply"] == i + 1 and len(doc["plies"]) == i


def test_replay_accepts_initial_state_and_moves():
    doc = {"initial_state": TS_STATE, "moves": [{"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}}]}
    result = check_document(doc)
    assert result.ok and result.final.status == "active"


def test_unreadable_inputs_raise_a_distinct_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UnreadableInputError):
        check_file(bad)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(UnreadableInputError):
        check_file(other)
    with pytest.raises(UnreadableInputError):
        check_file(tmp_path / "missing.json")


def test_vector_bundle_check_reports_each_vector(tmp_path):
    bundle = {
        "vectors": [
            {
                "id": "demo.place",
                "input": {"state": TS_STATE, "move": {"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}}},
                "expectedOutput": {"status": "complete", "assertions": {"currentPhase": "movement", "stackCount": 2}},
            },
            {
                "id": "demo.wrong",
                "input": {"state": TS_STATE, "move": {"type": "place_ring", "player": 1, "to": {"x": 0, "y": 0}}},
                "expectedOutput": {"assertions": {"stackCount": 5}},
            },
        ]
    }
    path = tmp_path / "b.vectors.json"
    path.write_text(json.dumps(bundle))
    doc = result_to_json(check_file(path))
    assert [v["id"] for v in doc["vectors"]] == ["demo.place", "demo.wrong"]
    assert [v["ok"] for v in doc["vectors"]] == [True, False]
    assert "stackCount" in doc["vectors"][1]["detail"]


def test_seeded_games_repeat_exactly():
    a = play_game("square8_2p", seed=42)
    b = play_game("square8_2p", seed=42)
    assert a.moves == b.moves and a.winner == b.winner and a.state.is_over()


def test_render_draws_square_and_hex_boards():
    for key in ("square8_2p", "hex8_2p"):
        game = play_game(key, seed=1, max_moves=30)
        text = render(game.state)
        assert "player 1" in text and ("A" in text or "a" in text)
    square = render(initial_state("square8_2p")).splitlines()
    assert len(square) == 1 + 8 + 3


def test_nested_undo_after_a_move_that_changed_no_cell(build):
    from ringrift_cli.game import apply_move_inplace, undo_move

    p = build(stacks={"3,3": [1]}, hands={1: 0})
    start = p.s.copy()
    outer = apply_move_inplace(p.s, p.moves()[0])  # no_placement_action: logs no cell
    inner = apply_move_inplace(p.s, p.moves("move_stack")[0])
    undo_move(p.s, inner)
    undo_move(p.s, outer)
    assert p.s == start and p.s.state_hash() == start.state_hash()
