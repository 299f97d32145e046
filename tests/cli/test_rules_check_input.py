"""`rules check` reads any file within bounds: hostile JSON gives exit 2 and one line."""

from __future__ import annotations

import json

import pytest

from ringrift_testing import run_cli


def record(**fields):
    return {"boardType": "square8", "numPlayers": 2, "moves": [], **fields}


@pytest.mark.parametrize("text", [
    "[" * 100_000,
    json.dumps(record(moves="[" * 10)).replace('"[[[[[[[[[["', "[" * 3000 + "]" * 3000),
    '{"boardType": "square8", "numPlayers": ' + "9" * 5000 + ', "moves": []}',
    '{"boardType": "square8", "numPlayers": Infinity, "moves": []}',
    '{"boardType": "square8", "numPlayers": 2, "moves": [], "winner": NaN}',
    '{"boardType": "square8", "numPlayers": 1e400, "moves": []}',
    json.dumps(record(numPlayers=0)), json.dumps(record(numPlayers=-3)), json.dumps(record(numPlayers=99)),
    json.dumps(record(numPlayers=100_000_000)), json.dumps(record(numPlayers=2.5)),
    json.dumps(record(numPlayers=True)),
    json.dumps({"initial_state": {"board": {"type": "square8"}, "players": [{}] * 100_000}, "moves": []}),
])
def test_hostile_documents_exit_2_in_one_line(tmp_path, text):
    path = tmp_path / "doc.json"
    path.write_text(text)
    result = run_cli("rules", "check", str(path))
    assert result.exit_code == 2, result.output[:300]
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_valid_record_still_checks(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(record(numPlayers=3)))
    assert run_cli("rules", "check", str(path)).exit_code == 0
