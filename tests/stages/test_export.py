"""Export: NPZ shards that are exactly right, exported once, refused when damaged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ringrift_testing import run_cli, run_on_another_root
from ringrift_cli.ai.encoding import ENCODER_VERSION, encode_state, encoder_for
from ringrift_cli.ai.samples import ShardError, read_shard
from ringrift_cli.game import apply_move_inplace, move_from_json, state_from_json
from ringrift_cli.store.artifacts import artifact_inputs, list_artifacts
from ringrift_cli.store.events import recent_events
from ringrift_cli.store.game_records import read_games
from ringrift_cli.store import queue as q


def cli_json(*args):
    result = run_cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def edit_registered_shard(ctx, home, relative: str, sql: str) -> None:
    """Change a recorded games shard in place and re-register its sha256, as if it had been
    recorded that way (the registry stays truthful; only the content is odd)."""
    import sqlite3

    from ringrift_cli.files import sha256_of

    path = home / relative
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()
    with ctx.store.write() as db:
        db.execute("UPDATE artifacts SET sha256 = ? WHERE path = ?", (sha256_of(path), relative))


@pytest.fixture
def recorded(home):
    """Two selfplay shards of square8_2p."""
    return [cli_json("selfplay", "square8_2p", "--games", "2", "--sims", "8", "--model", "none", "--seed", str(seed))
            for seed in (1, 2)]


def test_export_writes_valid_shard_matching_the_games(ctx, home, recorded):
    result = cli_json("export", "square8_2p")
    [shard_info] = result["shards"]
    shard = read_shard(home / shard_info["path"], encoder_version=ENCODER_VERSION)
    encoding = encoder_for("square8_2p")
    a = shard.arrays
    games = [g for r in recorded for g in read_games(home / r["path"])[1] if g.status == "completed"]
    assert shard.samples == sum(len(g.moves) for g in games) == shard_info["samples"]
    assert a["features"].shape[1:] == (encoding.planes, encoding.height, encoding.width)
    assert a["globals"].shape[1] == encoding.globals and a["values"].shape[1] == 2
    assert shard.meta["policy_size"] == encoding.policy_size
    # The first game's first positions are exactly the replayed, encoded positions.
    first = games[0]
    state = state_from_json(first.initial_state)
    for row, record in enumerate(first.moves[:5]):
        planes, globals_ = encode_state(state)
        assert np.array_equal(a["features"][row], planes) and np.array_equal(a["globals"][row], globals_)
        lo, hi = a["policy_offsets"][row], a["policy_offsets"][row + 1]
        assert np.array_equal(a["policy_indices"][lo:hi], record.policy_indices)
        assert a["move_numbers"][row] == record.ply
        mover = state.current
        assert a["values"][row][0] == first.values[mover - 1]  # the side to move first
        apply_move_inplace(state, move_from_json(record.move, state.board), undo=False)
    inputs = artifact_inputs(ctx.store, shard_info["artifact_id"])
    assert inputs == [a.id for a in list_artifacts(ctx.store, "square8_2p", "games")]
    events = [e for e in recent_events(ctx.store, 100) if e.type == "npz_exported"]
    assert len(events) == 1 and events[0].payload["samples"] == shard.samples


def test_exporting_twice_exports_nothing_new(ctx, home, recorded):
    cli_json("export", "square8_2p")
    jobs_before = len(q.list_jobs(ctx.store))
    again = cli_json("export", "square8_2p")
    assert again["shards"] == [] and again["games_shards_read"] == 0
    assert again["job_id"] is None and len(q.list_jobs(ctx.store)) == jobs_before  # a no-op adds no job row
    cli_json("selfplay", "square8_2p", "--games", "1", "--sims", "4", "--model", "none", "--seed", "9")
    third = cli_json("export", "square8_2p")
    assert third["games_shards_read"] == 1 and len(third["shards"]) == 1


def test_max_samples_splits_at_game_boundaries(ctx, home, recorded):
    result = cli_json("export", "square8_2p", "--max-samples", "150")
    assert len(result["shards"]) >= 2
    seen_games = set()
    for info in result["shards"]:
        shard = read_shard(home / info["path"])
        games = set(shard.arrays["game_ids"].tolist())
        assert not games & seen_games  # a game never straddles two shards
        seen_games |= games


def test_truncated_or_corrupt_shard_is_refused_by_name(home, recorded, tmp_path):
    info = cli_json("export", "square8_2p")["shards"][0]
    path = home / info["path"]
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ShardError, match="truncated.npz"):
        read_shard(truncated)
    with np.load(path) as data:
        arrays = {key: data[key] for key in data}
    arrays["policy_probs"] = arrays["policy_probs"] * 2
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ShardError, match="bad.npz.*sums to"):
        read_shard(bad)
    arrays["policy_probs"] = arrays["policy_probs"] / 2
    arrays["policy_indices"][0] = 10**7
    np.savez(bad, **arrays)
    with pytest.raises(ShardError, match="outside"):
        read_shard(bad)


def test_damaged_games_shard_is_quarantined_and_the_rest_exported(ctx, home, recorded):
    path = home / recorded[0]["path"]
    path.write_bytes(path.read_bytes() + b"tampered")
    result = cli_json("export", "square8_2p")
    assert [(a["path"], a["flag"]) for a in result["set_aside"]] == [(recorded[0]["path"], "quarantined")]
    assert result["games_shards_read"] == 1 and len(result["shards"]) == 1
    [npz] = list_artifacts(ctx.store, "square8_2p", "npz")
    assert artifact_inputs(ctx.store, npz.id) == [recorded[1]["artifact_id"]]
    flagged = [e for e in recent_events(ctx.store, 100) if e.type == "artifact_flagged"]
    assert flagged[0].payload["flag"] == "quarantined"
    again = cli_json("export", "square8_2p")  # the quarantined shard is not read again
    assert again["set_aside"] == [] and again["games_shards_read"] == 0


def test_game_the_engine_does_not_replay_is_quarantined(ctx, home, recorded):
    edit_registered_shard(ctx, home, recorded[1]["path"], "UPDATE games SET final_hash = '0000000000000000' WHERE id = 1")
    result = cli_json("export", "square8_2p")
    [aside] = result["set_aside"]
    assert aside["path"] == recorded[1]["path"] and "final position" in aside["reason"]
    assert result["games_shards_read"] == 1


def test_feature_memory_cap_splits_shards(home, recorded):
    run_cli("config", "set", "export.max_shard_mb", "1")  # about 290 square8 samples of features
    cli_json("selfplay", "square8_2p", "--games", "4", "--sims", "8", "--model", "none", "--seed", "3")
    result = cli_json("export", "square8_2p")
    assert sum(shard["samples"] for shard in result["shards"]) > 290  # more than one shard holds
    assert len(result["shards"]) >= 2
    assert all(shard["samples"] * 4 * 14 * 64 <= 2**20 for shard in result["shards"])


def test_games_from_another_encoder_version_are_set_aside_not_mixed(ctx, home, recorded):
    edit_registered_shard(ctx, home, recorded[0]["path"], "UPDATE meta SET value = '0' WHERE key = 'encoder_version'")
    result = cli_json("export", "square8_2p")
    assert [(a["path"], a["flag"]) for a in result["set_aside"]] == [(recorded[0]["path"], "other_encoder")]
    assert result["games_shards_read"] == 1 and len(result["shards"]) == 1


def test_shards_without_exportable_games_are_not_read_again(ctx, home, recorded):
    run_cli("config", "set", "export.min_game_moves", "100000")
    first = cli_json("export", "square8_2p")
    assert first["shards"] == [] and {a["flag"] for a in first["set_aside"]} == {"no_samples"}
    assert cli_json("export", "square8_2p")["set_aside"] == []


def test_export_that_lost_its_race_registers_nothing(ctx, home, recorded):
    import threading

    from ringrift_cli.stages.export import plan_export, publish_export, run_export

    job = q.enqueue_and_claim(ctx.store, q.JobSpec("export", "square8_2p"), "late")
    spec = plan_export(ctx, job)
    status = run_export(spec, home, lambda done, total, detail: None, threading.Event())
    assert len(status.outputs) == 1
    cli_json("export", "square8_2p")  # consumes both games shards meanwhile
    assert publish_export(ctx, job, "late", spec, status)["shards"] == []
    assert not (home / status.outputs[0].path).exists()
    assert not list((home / "npz" / "square8_2p").glob(f"export-job{job.id}-*"))
    assert len(list_artifacts(ctx.store, "square8_2p", "npz")) == 1


def test_samples_are_marked_searched_or_forced_and_forced_ones_weigh_the_setting(ctx, home, recorded):
    games = [g for r in recorded for g in read_games(home / r["path"])[1] if g.status == "completed"]
    searched = [m.searched for g in games for m in g.moves]
    assert any(searched) and not all(searched)
    a = read_shard(home / cli_json("export", "square8_2p")["shards"][0]["path"]).arrays
    assert a["searched"].tolist() == searched
    assert np.array_equal(a["policy_weight"], np.where(a["searched"], 1.0, 0.0).astype(np.float32))
    # A weight for forced moves, set once, is what the next export writes.
    run_cli("config", "set", "export.forced_policy_weight", "0.25")
    cli_json("selfplay", "square8_2p", "--games", "1", "--sims", "8", "--model", "none", "--seed", "3")
    again = read_shard(home / cli_json("export", "square8_2p")["shards"][0]["path"]).arrays
    assert set(again["policy_weight"][~again["searched"]].tolist()) == {0.25}
    assert set(again["policy_weight"][again["searched"]].tolist()) == {1.0}


def test_value_blend_mixes_the_search_value_into_searched_samples(ctx, home, recorded):
    run_cli("config", "set", "export.value_blend", "0.5")
    a = read_shard(home / cli_json("export", "square8_2p")["shards"][0]["path"]).arrays
    games = [g for r in recorded for g in read_games(home / r["path"])[1] if g.status == "completed"]
    row = 0
    for game in games:
        state = state_from_json(game.initial_state)
        for record in game.moves:
            mover = state.current
            expected = game.values[mover - 1]
            if record.searched:
                expected = 0.5 * expected + 0.5 * record.search_values[mover - 1]
            assert a["values"][row][0] == pytest.approx(expected, abs=1e-6)
            row += 1
            apply_move_inplace(state, move_from_json(record.move, state.board), undo=False)
    assert row == len(a["values"])


def test_shard_with_out_of_range_policy_weights_is_refused(home, recorded, tmp_path):
    from ringrift_cli.ai.samples import write_shard

    shard = read_shard(home / cli_json("export", "square8_2p")["shards"][0]["path"])
    shard.arrays["policy_weight"][0] = 1.5
    write_shard(tmp_path / "bad.npz", shard)
    with pytest.raises(ShardError, match="policy weights"):
        read_shard(tmp_path / "bad.npz")
    del shard.arrays["searched"]
    write_shard(tmp_path / "old.npz", shard)
    with pytest.raises(ShardError, match="missing array 'searched'"):
        read_shard(tmp_path / "old.npz")


def test_export_runs_from_its_spec_on_another_root_and_publish_registers_it_here(ctx, home, recorded, tmp_path):
    from ringrift_cli.stages.export import plan_export, publish_export
    from ringrift_cli.store.artifacts import artifacts_not_yet_used

    job = q.enqueue_and_claim(ctx.store, q.JobSpec("export", "square8_2p"), "host:elsewhere")
    spec = plan_export(ctx, job)
    assert sorted(item.path for item in spec.inputs) == sorted(r["path"] for r in recorded)
    status = run_on_another_root(home, spec, tmp_path / "host-data")
    (output,) = status.outputs
    assert output.path == f"runs/{job.id}/export-job{job.id}-000.npz"
    result = publish_export(ctx, job, "host:elsewhere", spec, status, host="elsewhere")
    (shard,) = result["shards"]
    assert shard["path"] == f"npz/square8_2p/export-job{job.id}-000.npz" and shard["sha256"] == output.sha256
    (npz,) = list_artifacts(ctx.store, "square8_2p", "npz")
    assert npz.host == "elsewhere" and npz.meta["samples"] == shard["samples"] > 0
    assert sorted(artifact_inputs(ctx.store, npz.id)) == sorted(r["artifact_id"] for r in recorded)
    assert artifacts_not_yet_used(ctx.store, "square8_2p", "games", by_kind="npz") == []  # the games are exported
    assert publish_export(ctx, job, "host:elsewhere", spec, status, host="elsewhere")["shards"] == [shard], \
        "a second publish of the same run registers nothing new"
    assert len([e for e in recent_events(ctx.store, 100) if e.type == "npz_exported"]) == 1


@pytest.mark.parametrize("change", [{"used": [999]}, {"set_aside": [{"artifact_id": 1, "flag": "deleted", "reason": ""}]},
                                    {"shards": []}, {"shards": [{"samples": 1, "games": {"999": [1, 1, 1]},
                                                                 "inputs": [1]}]}])
def test_an_export_result_naming_what_it_was_not_given_is_refused(ctx, home, recorded, change):
    import threading
    from dataclasses import replace

    from ringrift_cli.runner.publish import OutputRefused
    from ringrift_cli.stages.export import plan_export, publish_export, run_export

    job = q.enqueue_and_claim(ctx.store, q.JobSpec("export", "square8_2p"), "w")
    spec = plan_export(ctx, job)
    status = run_export(spec, home, lambda done, total, detail: None, threading.Event())
    with pytest.raises(OutputRefused):
        publish_export(ctx, job, "w", spec, replace(status, result={**status.result, **change}))
    assert list_artifacts(ctx.store, "square8_2p", "npz") == []
    assert artifacts_not_yet_used_count(ctx) == 2


def artifacts_not_yet_used_count(ctx) -> int:
    from ringrift_cli.store.artifacts import artifacts_not_yet_used

    return len(artifacts_not_yet_used(ctx.store, "square8_2p", "games", by_kind="npz"))
