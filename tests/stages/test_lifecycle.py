"""The model lifecycle end to end, with real processes: eval, promote, rollback, kills, races, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from ringrift_testing import PYTHON, descendants, process_running, run_cli
from ringrift_cli.store import queue as q
from ringrift_cli.store.events import recent_events
from ringrift_cli.store.matches import matches_for
from ringrift_cli.store.models import best_model, list_models

FAST = {"promote.min_games": "2", "eval.simulations": "2", "eval.parallel_games": "4",
        "promote.sprt_max_games": "2", "queue.backoff_base_seconds": "0"}


def cli_json(*args):
    result = run_cli(*args, "--json")
    assert result.exit_code in (0, 1, 3), result.output
    return json.loads(result.output)


def settings(**values):
    for key, value in {**FAST, **values}.items():
        assert run_cli("config", "set", key, str(value)).exit_code == 0


@pytest.fixture
def trained(home):
    """A data root with samples and one tiny candidate model."""
    settings()
    cli_json("selfplay", "hex8_2p", "--games", "6", "--sims", "4", "--seed", "2", "--model", "none")
    cli_json("export", "hex8_2p")
    return cli_json("train", "hex8_2p", "--preset", "tiny", "--epochs", "1", "--from", "scratch", "--seed", "1",
                    "--device", "cpu")


def test_pipeline_produces_a_promotable_model_and_selfplay_uses_it(ctx, trained):
    settings(**{"promote.floor_random_2p": 0, "promote.floor_heuristic_2p": 0})
    evaluated = cli_json("eval", "hex8_2p", "--opponents", "random,heuristic", "--games", "2", "--device", "cpu")
    assert evaluated["games"] == 4 and set(evaluated["scores"]) == {"random", "heuristic"}
    rows = matches_for(ctx.store, "hex8_2p")
    assert len(rows) == 4 and {r.players for r in rows if "random" in r.players} == {
        (trained["model_id"], "random"), ("random", trained["model_id"])}  # seats rotate
    promoted = cli_json("promote", "hex8_2p", "--device", "cpu")
    assert promoted["decision"] == "promoted" and promoted["previous_best"] is None
    assert best_model(ctx.store, "hex8_2p").id == trained["model_id"]
    assert [e.payload["model_id"] for e in recent_events(ctx.store, 3, "model_promoted")] == [trained["model_id"]]
    game = cli_json("selfplay", "hex8_2p", "--games", "1", "--sims", "2", "--model", "best")
    from ringrift_cli.store.game_records import read_games

    assert read_games(ctx.home.root / game["path"])[1][0].model == trained["model_id"]
    # The next training warm-starts from the best; its gate then includes the SPRT against it.
    second = cli_json("train", "hex8_2p", "--epochs", "1", "--seed", "2", "--device", "cpu")
    assert second["parent_id"] == trained["model_id"]
    cli_json("eval", "hex8_2p", "--opponents", "random,heuristic", "--games", "2", "--device", "cpu")
    decided = cli_json("promote", "hex8_2p", "--device", "cpu")
    assert decided["model_id"] == second["model_id"] and "sprt" in decided["evidence"]
    statuses = {m.id: m.status for m in list_models(ctx.store, "hex8_2p")}
    assert list(statuses.values()).count("best") == 1
    shown = json.loads(run_cli("models", "show", second["model_id"][:10], "--json").output)
    assert shown["lineage"]["parent_id"] == trained["model_id"] and shown["file_ok"] and shown["elo"]
    elo = cli_json("elo", "hex8_2p")
    assert {r["player"] for r in elo["ratings"]} >= {"random", "heuristic", trained["model_id"]}


def test_eval_games_become_a_games_shard_that_export_reads(ctx, trained):
    from ringrift_cli.store.game_records import read_games

    evaluated = cli_json("eval", "hex8_2p", "--opponents", "random,heuristic", "--games", "2", "--procs", "1",
                         "--device", "cpu", "--seed", "3")
    shard = evaluated["games_shard"]
    assert shard["games"] == 4 and shard["path"].endswith(f"eval-job{evaluated['job_id']}.db")
    _, games = read_games(ctx.home.root / shard["path"])
    matched = {m.game_index: m for m in matches_for(ctx.store, "hex8_2p")}
    assert sorted(g.index for g in games) == sorted(matched)  # numbered as in matches
    candidate = trained["model_id"]
    for game in games:
        seats = game.model.split(",")
        assert seats == list(matched[game.index].players)
        for move in game.moves:
            by_candidate = seats[move.player - 1] == candidate
            if move.searched:  # only the candidate's searches are targets; baseline moves are kept unsearched
                assert by_candidate and move.search_values is not None
            else:
                assert move.search_values is None
        assert any(m.searched for m in game.moves)
    exported = cli_json("export", "hex8_2p")
    assert exported["games_shards_read"] == 1 and exported["samples"] > 0


def test_eval_over_two_search_processes_records_the_games_of_one(ctx, trained):
    from ringrift_cli.store.game_records import read_games

    results = [cli_json("eval", "hex8_2p", "--opponents", "heuristic", "--games", "4", "--procs", procs,
                        "--device", "cpu", "--seed", "8") for procs in ("1", "2")]
    games = [{g.index: (g.seed, g.model, g.final_hash, len(g.moves))
              for g in read_games(ctx.home.root / r["games_shard"]["path"])[1]} for r in results]
    assert games[0] == games[1] and len(games[0]) == 4
    by_job = [sorted((m.game_index, m.players, m.ranks) for m in matches_for(ctx.store, "hex8_2p")
                     if m.job_id == r["job_id"]) for r in results]
    assert by_job[0] == by_job[1]


def test_promote_plays_the_baseline_games_eval_did_not_record(ctx, trained):
    settings(**{"promote.floor_random_2p": 0, "promote.floor_heuristic_2p": 0})
    result = cli_json("promote", "hex8_2p", "--device", "cpu")
    assert result["decision"] == "promoted"
    rows = matches_for(ctx.store, "hex8_2p")
    assert sum("random" in r.players for r in rows) == 2 and sum("heuristic" in r.players for r in rows) == 2


def test_rejected_candidate_is_recorded_with_its_reason(ctx, trained):
    settings(**{"promote.floor_random_2p": 1.0, "promote.floor_heuristic_2p": 1.0})  # every game must be won
    cli_json("eval", "hex8_2p", "--opponents", "random,heuristic", "--games", "2", "--device", "cpu")
    result = run_cli("promote", "hex8_2p", "--device", "cpu", "--json")
    out = json.loads(result.output)
    assert result.exit_code == 1 and out["decision"] == "rejected"
    (model,) = list_models(ctx.store, "hex8_2p")
    assert model.status == "rejected" and "floor" in model.reason and model.evidence["baselines"]
    assert run_cli("promote", "hex8_2p", "--model", model.id).exit_code == 2  # no longer a candidate


def test_tampered_and_code_carrying_model_files_are_refused(ctx, home, trained, tmp_path):
    path = home / trained["path"]
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    jobs_before = len(q.list_jobs(ctx.store))
    for args in (["eval", "hex8_2p", "--model", trained["model_id"][:12]],
                 ["selfplay", "hex8_2p", "--games", "1", "--model", trained["model_id"][:12]],
                 ["train", "hex8_2p", "--from", trained["model_id"][:12]]):
        result = run_cli(*args)
        assert result.exit_code == 2 and "sha256" in result.output and path.name in result.output, args
    assert len(q.list_jobs(ctx.store)) - jobs_before <= 1  # selfplay checks inside its job; eval and train before
    listed = json.loads(run_cli("models", "ls", "--json").output)["models"]
    assert listed[0]["file_ok"] is False

    import torch

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"format": "ringrift-model", "payload": Evil()}, tmp_path / "evil.pt")
    result = run_cli("selfplay", "hex8_2p", "--games", "1", "--model", str(tmp_path / "evil.pt"))
    assert result.exit_code == 2 and "evil.pt" in result.output and not marker.exists()


@pytest.mark.parametrize("args, message", [
    (["eval", "hex8_2p", "--model", "deadbeef"], "no model"),
    (["eval", "hex8_2p", "--games", "0"], "games"),
    (["eval", "hex8_2p", "--procs", "0"], "eval procs must be 1 to 1024"),
    (["promote", "hex8_2p", "--procs", "many"], "promote procs takes a number"),
    (["eval", "square8_2p"], "no candidate"),
    (["promote", "hex8_2p", "--model", "0123abcd"], "no model"),
    (["train", "hex8_2p", "--lr", "nan"], "lr"),
    (["promote", "hex8_2p", "--rollback"], "no best model"),
])
def test_bad_input_exits_2_with_one_line_and_changes_nothing(ctx, args, message):
    jobs_before = q.list_jobs(ctx.store)
    result = run_cli(*args)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert q.list_jobs(ctx.store) == jobs_before


def test_candidate_of_another_config_is_refused(ctx, trained):
    with ctx.store.write() as db:
        db.execute("UPDATE models SET encoder_version = 999")
    result = run_cli("eval", "hex8_2p")
    assert result.exit_code == 2 and "encoder version 999" in result.output


def wait_for(check, seconds: float, proc=None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.stderr.read().decode()[-500:]}")
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_killed_eval_resumes_without_recording_a_game_twice(ctx, trained, subprocess_env):
    settings(**{"queue.lease_seconds": 2})
    proc = subprocess.Popen([PYTHON, "-m", "ringrift_cli", "eval", "hex8_2p", "--opponents", "random", "--games",
                             "10", "--parallel", "2", "--procs", "2", "--device", "cpu", "--seed", "4"],
                            env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def recorded() -> list[dict]:
        """The games the run has recorded in its results file (whole lines: a kill may cut the last)."""
        jobs = [j for j in q.list_jobs(ctx.store) if j.kind == "eval"]
        path = ctx.home.root / "runs" / str(jobs[0].id) / "results.jsonl" if jobs else None
        text = path.read_text() if path is not None and path.exists() else ""
        return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]

    wait_for(lambda: len(recorded()) >= 2, 120, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert matches_for(ctx.store, "hex8_2p") == [], "matches are appended when the run is published"
    before = recorded()
    kept = {(game["game_index"], game["seed"]) for game in before}
    assert 2 <= len(kept) < 10
    time.sleep(2.2)  # the lease passes
    rescue = subprocess.run([PYTHON, "-m", "ringrift_cli", "worker", "--kinds", "eval"], env=subprocess_env,
                            capture_output=True, text=True, timeout=300)
    assert rescue.returncode == 0, rescue.stderr
    rows = matches_for(ctx.store, "hex8_2p")
    assert len(rows) == 10 and sorted(r.game_index for r in rows) == list(range(10))
    assert kept <= {(r.game_index, r.seed) for r in rows}  # the recorded games were kept, not replayed
    after = recorded()
    assert after[:len(before)] == before and len(after) == 10, "the rescue appended only the missing games"
    (job,) = [j for j in q.list_jobs(ctx.store) if j.kind == "eval"]
    assert job.status == "done" and job.attempts == 2 and job.result["games"] == 10
    assert job.result["games_shard"]["games"] == 10  # the shard holds every game once, killed run included


@pytest.mark.slow
def test_killed_train_resumes_from_its_checkpoint_and_registers_once(ctx, home, trained, subprocess_env):
    settings(**{"queue.lease_seconds": 2})
    # With a data worker: the kill must take the worker processes down too.
    proc = subprocess.Popen([PYTHON, "-m", "ringrift_cli", "train", "hex8_2p", "--from", "scratch", "--preset", "tiny",
                             "--epochs", "3", "--batch", "16", "--device", "cpu", "--seed", "5", "--data-workers", "1"],
                            env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = None

    def epoch_done() -> bool:
        nonlocal checkpoint
        jobs = [j for j in q.list_jobs(ctx.store) if j.kind == "train" and j.status == "claimed"]
        if jobs:
            checkpoint = home / "runs" / str(jobs[0].id) / "checkpoint.pt"
        return checkpoint is not None and checkpoint.exists()

    wait_for(epoch_done, 120, proc)
    time.sleep(0.3)  # into the next epoch
    helpers = descendants(proc.pid)
    assert len(helpers) >= 2  # the process the data worker is forked from, and the worker
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_for(lambda: not any(process_running(pid) for pid in helpers), 30)
    assert len(list_models(ctx.store, "hex8_2p")) == 1  # nothing half-written registered
    assert len(list((home / "models" / "hex8_2p").glob("*.pt"))) == 1
    time.sleep(2.2)
    rescue = subprocess.run([PYTHON, "-m", "ringrift_cli", "worker", "--kinds", "train", "--json"],
                            env=subprocess_env, capture_output=True, text=True, timeout=600)
    assert rescue.returncode == 0, rescue.stderr
    (job,) = [j for j in q.list_jobs(ctx.store) if j.kind == "train" and j.attempts == 2]
    assert job.status == "done" and job.result["resumed_from_epoch"] >= 1
    assert len(list_models(ctx.store, "hex8_2p")) == 2


@pytest.mark.slow
def test_concurrent_promotions_leave_exactly_one_best(ctx, home, trained, subprocess_env):
    settings(**{"promote.floor_random_2p": 0, "promote.floor_heuristic_2p": 0})
    other = cli_json("train", "hex8_2p", "--from", "scratch", "--preset", "tiny", "--epochs", "1", "--seed", "9",
                     "--device", "cpu")
    for model in (trained["model_id"], other["model_id"]):
        cli_json("eval", "hex8_2p", "--model", model, "--opponents", "random,heuristic", "--games", "2",
                 "--device", "cpu")
    procs = [subprocess.Popen([PYTHON, "-m", "ringrift_cli", "promote", "hex8_2p", "--model", model, "--device", "cpu"],
                              env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for model in (trained["model_id"], other["model_id"])]
    seen_best = set()
    while any(p.poll() is None for p in procs):
        count = ctx.store.read("SELECT count(*) FROM models WHERE status = 'best'")[0][0]
        seen_best.add(count)
        time.sleep(0.05)
    assert seen_best <= {0, 1}
    assert ctx.store.read("SELECT count(*) FROM models WHERE status = 'best'")[0][0] == 1
    codes = sorted(p.returncode for p in procs)
    # The loser either finds the best changed under it (exit 2; its job is retried and the gate then runs
    # against the new best) or, starting later, runs the SPRT against the winner (promoted or rejected).
    assert codes[0] == 0 and codes[1] in (0, 1, 2)


EVAL = {"opponents": "random,heuristic", "games": 2, "procs": 1, "parallel": 2, "device": "cpu", "seed": 6}


def test_eval_runs_from_its_spec_on_another_root_and_publish_records_its_matches_here(ctx, trained, tmp_path):
    from ringrift_testing import run_on_another_root
    from ringrift_cli.stages.eval import plan_eval, publish_eval

    job = q.enqueue_and_claim(ctx.store, q.JobSpec("eval", "hex8_2p", params=EVAL), "host:elsewhere")
    spec = plan_eval(ctx, job)
    assert [item.sha256 for item in spec.inputs] == [trained["model_id"]]  # the candidate's file, by content
    status = run_on_another_root(ctx.home.root, spec, tmp_path / "host-data")
    assert [o.path for o in status.outputs] == [f"runs/{job.id}/results.jsonl", f"runs/{job.id}/eval-job{job.id}.db"]
    assert matches_for(ctx.store, "hex8_2p") == [], "the run step records nothing in the state file"
    result = publish_eval(ctx, job, "host:elsewhere", spec, status, host="elsewhere")
    rows = matches_for(ctx.store, "hex8_2p")
    assert result["games"] == 4 and sorted(r.game_index for r in rows) == [0, 1, 1_000_000, 1_000_001]
    assert {r.players for r in rows if "random" in r.players} == {(trained["model_id"], "random"),
                                                                   ("random", trained["model_id"])}
    shard = result["games_shard"]
    assert shard["path"] == f"games/hex8_2p/eval-job{job.id}.db" and shard["games"] == 4
    (artifact,) = ctx.store.read("SELECT host FROM artifacts WHERE path = ?", (shard["path"],))
    assert artifact["host"] == "elsewhere"
    again = publish_eval(ctx, job, "host:elsewhere", spec, status, host="elsewhere")
    assert again == result and len(matches_for(ctx.store, "hex8_2p")) == 4, "publishing twice records nothing twice"
    assert len(recent_events(ctx.store, 100, "eval_completed")) == 1


def test_eval_results_that_are_not_the_planned_games_are_refused(ctx, trained):
    import threading
    from dataclasses import replace

    from ringrift_cli.files import sha256_of
    from ringrift_cli.runner.publish import OutputRefused
    from ringrift_cli.stages.eval import plan_eval, publish_eval, run_eval

    job = q.enqueue_and_claim(ctx.store, q.JobSpec("eval", "hex8_2p", params={**EVAL, "games": 1}), "w")
    spec = plan_eval(ctx, job)
    status = run_eval(spec, ctx.home.root, lambda done, total, detail: None, threading.Event(), lock_timeout=5)
    results = ctx.home.root / status.outputs[0].path
    lines = results.read_text().splitlines(keepends=True)
    first = json.loads(lines[0])
    for bad in ([json.dumps({**first, "players": ["heuristic"] * 2}) + "\n"] + lines[1:],  # not its block's players
                lines[:1],  # a planned game missing
                lines + lines[:1],  # a game twice
                [json.dumps({**first, "game_index": 7}) + "\n"] + lines[1:]):  # not a planned game
        results.write_text("".join(bad))
        told = replace(status.outputs[0], sha256=sha256_of(results), bytes=results.stat().st_size)
        with pytest.raises(OutputRefused):
            publish_eval(ctx, job, "w", spec, replace(status, outputs=(told, status.outputs[1])))
    assert matches_for(ctx.store, "hex8_2p") == []
    assert ctx.store.read("SELECT count(*) FROM artifacts WHERE kind = 'games' AND job_id = ?", (job.id,))[0][0] == 0


def test_an_eval_whose_publish_stopped_half_way_finishes_without_replaying_or_recording_twice(ctx, trained):
    import threading

    from ringrift_cli.runner.publish import settle_output
    from ringrift_cli.stages.eval import plan_eval, published_shard, run_eval
    from ringrift_cli.store.matches import record_match_in

    job = q.enqueue_and_claim(ctx.store, q.JobSpec("eval", "hex8_2p", params=EVAL), "w1")
    spec = plan_eval(ctx, job)
    status = run_eval(spec, ctx.home.root, lambda done, total, detail: None, threading.Event(), lock_timeout=5)
    results = ctx.home.root / status.outputs[0].path
    played = results.read_text()
    # The publish moved the shard and recorded one game, then its process died before its commit ended.
    settle_output(ctx.home.root, status.outputs[1], published_shard("hex8_2p", job.id))
    first = json.loads(played.splitlines()[0])
    with ctx.store.write() as db:
        record_match_in(db, config_key="hex8_2p", job_id=job.id, game_index=first["game_index"],
                        players=first["players"], ranks=first["ranks"], seed=first["seed"], simulations=2,
                        moves=first["moves"], status=first["status"])
    q.release(ctx.store, job.id, "w1", job.claim_seq, "killed")
    rescue = run_cli("worker", "--kinds", "eval", "--json")
    assert rescue.exit_code == 0, rescue.output
    assert results.read_text() == played, "no game was played again"
    rows = matches_for(ctx.store, "hex8_2p")
    assert sorted(r.game_index for r in rows) == [0, 1, 1_000_000, 1_000_001]
    done = q.get_job(ctx.store, job.id)
    assert done.status == "done" and done.result["games"] == 4 and done.result["games_shard"]["games"] == 4
    assert len(recent_events(ctx.store, 100, "eval_completed")) == 1


def test_an_eval_replanned_against_other_opponents_sets_the_earlier_games_aside(ctx, trained):
    import threading
    from dataclasses import replace

    from ringrift_cli.stages.eval import plan_eval, run_eval

    job = q.enqueue_and_claim(ctx.store, q.JobSpec("eval", "hex8_2p", params={**EVAL, "games": 1}), "w")
    spec = plan_eval(ctx, job)
    quiet = lambda done, total, detail: None  # noqa: E731
    first = run_eval(replace(spec, params={**spec.params, "opponents": ["random"]}), ctx.home.root, quiet,
                     threading.Event(), lock_timeout=5)
    assert "set_aside" not in first.result
    again = run_eval(replace(spec, params={**spec.params, "opponents": ["heuristic"]}), ctx.home.root, quiet,
                     threading.Event(), lock_timeout=5)
    assert "set_aside" in again.result and "not its block's players" in again.result["set_aside"]
    lines = [json.loads(line) for line in (ctx.home.root / again.outputs[0].path).read_text().splitlines()]
    assert [game["players"].count("heuristic") for game in lines] == [1]
    aside = ctx.home.root / spec.run_dir / again.result["set_aside"].split(":")[0]
    assert (aside / "results.jsonl").is_file() and (aside / f"eval-job{job.id}.db").is_file()


def test_promote_runs_from_its_spec_on_another_root_and_publish_decides_here(ctx, trained, tmp_path):
    from ringrift_testing import run_on_another_root
    from ringrift_cli.stages.promote import plan_promote, publish_promote

    settings(**{"promote.floor_random_2p": 0, "promote.floor_heuristic_2p": 0})
    cli_json("eval", "hex8_2p", "--opponents", "random,heuristic", "--games", "1", "--device", "cpu")
    job = q.enqueue_and_claim(ctx.store, q.JobSpec("promote", "hex8_2p", params={"device": "cpu", "procs": 1}),
                              "host:elsewhere")
    spec = plan_promote(ctx, job)
    assert [item.sha256 for item in spec.inputs] == [trained["model_id"]]  # the candidate's file (no best yet)
    assert len(spec.params["recorded"]) == 2, "the games eval recorded are planned for the gate"
    status = run_on_another_root(ctx.home.root, spec, tmp_path / "host-data")
    assert status.result["decision"] == "pass" and status.result["games"] == 2  # one more against each baseline
    assert [o.path for o in status.outputs] == [f"runs/{job.id}/results.jsonl"]
    assert not [m for m in matches_for(ctx.store, "hex8_2p") if m.job_id == job.id], "the run records nothing here"
    assert best_model(ctx.store, "hex8_2p") is None
    result = publish_promote(ctx, job, "host:elsewhere", spec, status, host="elsewhere")
    assert result["decision"] == "promoted" and result["previous_best"] is None
    assert best_model(ctx.store, "hex8_2p").id == trained["model_id"]
    rows = [m for m in matches_for(ctx.store, "hex8_2p") if m.job_id == job.id]
    assert sorted(r.game_index for r in rows) == [1_000_000, 2_000_000]
    again = publish_promote(ctx, job, "host:elsewhere", spec, status, host="elsewhere")
    assert again == result and len(matches_for(ctx.store, "hex8_2p")) == 4, "publishing twice records nothing twice"
    assert len(recent_events(ctx.store, 100, "model_promoted")) == 1


def test_promote_results_that_are_not_the_planned_games_are_refused(ctx, trained):
    import threading
    from dataclasses import replace

    from ringrift_cli.files import sha256_of
    from ringrift_cli.runner.publish import OutputRefused
    from ringrift_cli.stages.promote import plan_promote, publish_promote, run_promote

    settings(**{"promote.floor_random_2p": 0, "promote.floor_heuristic_2p": 0})
    job = q.enqueue_and_claim(ctx.store, q.JobSpec("promote", "hex8_2p", params={"device": "cpu", "procs": 1}), "w")
    spec = plan_promote(ctx, job)
    quiet = lambda done, total, detail: None  # noqa: E731
    status = run_promote(spec, ctx.home.root, quiet, threading.Event(), lock_timeout=5)
    results = ctx.home.root / status.outputs[0].path
    played = results.read_text()
    assert len(played.splitlines()) == 4
    again = run_promote(spec, ctx.home.root, quiet, threading.Event(), lock_timeout=5)
    assert results.read_text() == played and again.result["decision"] == "pass", "a rerun plays no game again"
    lines = played.splitlines(keepends=True)
    first = json.loads(lines[0])
    for bad in ([json.dumps({**first, "players": ["heuristic"] * 2}) + "\n"] + lines[1:],  # not its block's players
                lines + lines[:1],  # a game twice
                [json.dumps({**first, "game_index": 5}) + "\n"] + lines[1:],  # block 0: no best, no SPRT games
                [json.dumps({**first, "game_index": 1_000_002}) + "\n"] + lines[1:]):  # past min_games
        results.write_text("".join(bad))
        told = replace(status.outputs[0], sha256=sha256_of(results), bytes=results.stat().st_size)
        with pytest.raises(OutputRefused):
            publish_promote(ctx, job, "w", spec, replace(status, outputs=(told,)))
    assert matches_for(ctx.store, "hex8_2p") == []
    assert best_model(ctx.store, "hex8_2p") is None and list_models(ctx.store, "hex8_2p")[0].status == "candidate"
