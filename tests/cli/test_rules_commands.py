"""``ringrift play`` and ``ringrift rules check`` wired to the engine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ringrift_testing import REPO, run_cli

CONFORMANCE = Path(os.environ.get("RINGRIFT_CONFORMANCE_DIR", REPO.parent / "shared" / "conformance"))
needs_fixtures = pytest.mark.skipif(not CONFORMANCE.is_dir(), reason=f"conformance fixtures not found at {CONFORMANCE}")


def test_play_same_seed_same_game():
    first = json.loads(run_cli("play", "square8_2p", "--seed", "7", "--json").output)
    again = json.loads(run_cli("play", "square8_2p", "--seed", "7", "--json").output)
    assert first == again and first["moves"] > 0 and first["winner"] in (1, 2)


def test_play_prints_board_as_it_goes():
    out = run_cli("play", "hex8_2p", "--seed", "2").output
    assert "ply 1:" in out and "player 1 to move" in out and "won by player" in out


def test_play_heuristic_seat_and_bad_players():
    result = run_cli("play", "square8_3p", "--players", "heuristic,random,random", "--quiet")
    assert result.exit_code == 0 and "(heuristic)" in result.output
    assert run_cli("play", "square8_2p", "--players", "random").exit_code == 2
    bad = run_cli("play", "square8_2p", "--players", "random,genius")
    assert bad.exit_code == 2 and "unknown player" in bad.output
    assert run_cli("play", "octagon_2p").exit_code == 2


@needs_fixtures
def test_rules_check_golden_game_json_describes_each_ply():
    path = next((CONFORMANCE / "golden-games").glob("captures_square8_2p_*.json"))
    result = run_cli("rules", "check", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["divergence"] is None
    first = report["plies"][0]
    assert first == {"ply": first["ply"], "legal": first["legal"], "phase": "ring_placement", "player": 1}
    assert first["legal"] > 1
    assert {"status", "winner", "players"} <= set(report["final"])
    assert report["final"]["players"][0].keys() == {"player", "rings_in_hand", "eliminated", "territory"}


@needs_fixtures
def test_rules_check_vector_bundle_json():
    result = run_cli("rules", "check", str(CONFORMANCE / "contract-vectors" / "v2" / "capture.vectors.json"), "--json")
    report = json.loads(result.output)
    assert set(report) == {"vectors"} and all({"id", "ok", "detail"} <= set(v) for v in report["vectors"])


@needs_fixtures
def test_rules_check_reports_divergence_with_exit_1(tmp_path):
    path = next((CONFORMANCE / "golden-games").glob("captures_square8_2p_*.json"))
    record = json.loads(path.read_text())
    moves = record["moves"]
    moves[1], moves[2] = moves[2], moves[1]  # the second player now moves out of turn
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(record))
    result = run_cli("rules", "check", str(broken), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["divergence"]["ply"] == 2
    assert len(report["plies"]) >= 1


def test_rules_check_unreadable_input_exits_2(tmp_path):
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    result = run_cli("rules", "check", str(junk))
    assert result.exit_code == 2 and "cannot read" in result.output
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    assert run_cli("rules", "check", str(other)).exit_code == 2
    assert run_cli("rules", "check", str(tmp_path / "missing.json")).exit_code == 2


def test_play_match_summary_as_json_and_text():
    result = run_cli("play", "hex8_2p", "--players", "search:8,random", "--games", "4", "--seed", "2", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["games"] == 4
    assert [p["name"] for p in summary["players"]] == ["search:8", "random"]
    searched, rand = summary["players"]
    assert set(searched) == {"name", "wins", "draws", "losses", "score", "ci95"}
    assert searched["wins"] + searched["draws"] + searched["losses"] == 4
    assert searched["score"] + rand["score"] == pytest.approx(1.0)
    assert searched["ci95"][0] <= searched["score"] <= searched["ci95"][1]
    text = run_cli("play", "hex8_2p", "--players", "search:8,random", "--games", "2", "--seed", "2").output
    assert "search:8:" in text and "95%" in text


def test_play_with_a_network_player_from_a_model_file(tmp_path):
    from ringrift_cli.ai.net import new_net, save_model

    net, info = new_net("hex8_2p", "tiny")
    save_model(tmp_path / "tiny.pt", net, info)
    spec = f"search:4:{tmp_path / 'tiny.pt'}"
    result = run_cli("play", "hex8_2p", "--players", f"{spec},heuristic", "--games", "2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["players"][0]["name"] == spec
    single = run_cli("play", "hex8_2p", "--players", f"heuristic,{spec}", "--quiet")
    assert single.exit_code == 0 and "ranks:" in single.output
    missing = run_cli("play", "hex8_2p", "--players", "search:4:nothing-here,random", "--games", "1",
                      "--home", str(tmp_path / "nohome"))
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_play_searches_the_root_as_the_data_roots_search_gumbel_says(home):
    # The same seeded game with the default root search (Gumbel), then with search.gumbel false
    # (PUCT at the root): both play it through, and differently.
    def game():
        result = run_cli("play", "hex8_2p", "--players", "search:8,heuristic", "--seed", "3", "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    gumbel = game()
    assert run_cli("config", "set", "search.gumbel", "false").exit_code == 0
    puct = game()
    assert run_cli("config", "set", "search.gumbel", "true").exit_code == 0
    assert game() == gumbel != puct
