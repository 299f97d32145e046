"""Selfplay as a job: recorded games, registration, kills, models."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

import numpy as np
import pytest

from ringrift_testing import PYTHON, run_cli
from ringrift_cli.files import sha256_of
from ringrift_cli.game import apply_move_inplace, legal_moves, move_from_json, state_from_json
from ringrift_cli.store import queue as q
from ringrift_cli.store.artifacts import list_artifacts
from ringrift_cli.store.events import recent_events
from ringrift_cli.store.game_records import read_games


def selfplay_json(*args: str) -> dict:
    result = run_cli("selfplay", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def replay_to_end(game):
    state = state_from_json(game.initial_state)
    for record in game.moves:
        assert record.player == state.current
        apply_move_inplace(state, move_from_json(record.move, state.board), validate=True, undo=False)
    return state


@pytest.mark.parametrize("config_key", ["square8_2p", "hex8_3p"])
def test_recorded_games_replay_to_their_recorded_end(home, config_key):
    result = selfplay_json(config_key, "--games", "3", "--sims", "8", "--parallel", "3", "--model", "none")
    meta, games = read_games(home / result["path"])
    assert len(games) == 3 and meta["config_key"] == config_key
    for game in games:
        state = replay_to_end(game)
        assert f"{state.state_hash():016x}" == game.final_hash
        assert state.is_over() == (game.status == "completed")
        assert (state.winner or None) == game.winner
        assert len(game.values) == int(config_key[-2])


def test_shard_is_registered_with_its_sha256_and_one_event(ctx, home):
    result = selfplay_json("hex8_2p", "--games", "2", "--sims", "4", "--model", "none")
    [artifact] = list_artifacts(ctx.store, "hex8_2p", "games")
    assert artifact.sha256 == sha256_of(home / artifact.path) == result["sha256"]
    events = [e for e in recent_events(ctx.store, 50) if e.type == "games_recorded"]
    assert len(events) == 1
    assert events[0].payload == {"artifact_id": artifact.id, "path": artifact.path, "games": 2,
                                 "moves": result["moves"]}
    job = q.get_job(ctx.store, result["job_id"])
    assert job.status == "done" and job.result["artifact_id"] == artifact.id


def test_moves_carry_visit_distributions_and_search_values(home):
    result = selfplay_json("square8_2p", "--games", "1", "--sims", "16", "--model", "none")
    _, [game] = read_games(home / result["path"])
    searched = [m for m in game.moves if m.searched]
    assert searched and any(len(m.policy_indices) > 1 for m in searched)
    for move in game.moves:
        # Every legal move is listed, with 0 where the search gave it nothing.
        assert abs(float(move.policy_probs.sum()) - 1) < 1e-5 and np.all(move.policy_probs >= 0)
    assert all(len(m.search_values) == 2 for m in searched)
    assert game.settings["simulations"] == 16 and game.model == "heuristic"


@pytest.mark.parametrize("model, recorded", [("random", "random"), ("heuristic", "heuristic"), ("best", "heuristic")])
def test_baseline_evaluators_and_bootstrap_without_a_model(home, model, recorded):
    result = selfplay_json("hex8_2p", "--games", "1", "--sims", "4", "--model", model)
    assert read_games(home / result["path"])[1][0].model == recorded
    said = {"random": "random evaluator", "heuristic": "heuristic evaluator",
            "best": "heuristic evaluator (no best model for hex8_2p yet)"}[model]
    assert said in result["searched_with"]


def test_same_seed_plays_same_games(home):
    first = selfplay_json("hex8_2p", "--games", "2", "--sims", "8", "--seed", "5", "--model", "none")
    second = selfplay_json("hex8_2p", "--games", "2", "--sims", "8", "--seed", "5", "--model", "none")
    hashes = [[g.final_hash for g in read_games(home / r["path"])[1]] for r in (first, second)]
    assert hashes[0] == hashes[1]


def test_selfplay_with_a_network_model_file(home, tmp_path):
    from ringrift_cli.ai.net import new_net, save_model

    net, info = new_net("hex8_2p", "tiny")
    save_model(tmp_path / "tiny.pt", net, info)
    result = selfplay_json("hex8_2p", "--games", "2", "--sims", "8", "--parallel", "2", "--model", str(tmp_path / "tiny.pt"))
    _, games = read_games(home / result["path"])
    assert len(games) == 2 and games[0].model == sha256_of(tmp_path / "tiny.pt")


def test_model_for_another_config_fails_the_job_permanently(ctx, home, tmp_path):
    from ringrift_cli.ai.net import new_net, save_model

    net, info = new_net("hex8_3p", "tiny")
    save_model(tmp_path / "three.pt", net, info)
    result = run_cli("selfplay", "hex8_2p", "--games", "1", "--model", str(tmp_path / "three.pt"))
    assert result.exit_code == 2 and "not hex8_2p" in result.output
    [job] = q.list_jobs(ctx.store, kind="selfplay")
    assert job.status == "dead"
    assert run_cli("selfplay", "hex8_2p", "--model", "deadbeef").exit_code == 2


@pytest.mark.slow
def test_killed_selfplay_keeps_finished_games_and_resumes(ctx, home, subprocess_env):
    run_cli("config", "set", "queue.lease_seconds", "2")
    run_cli("config", "set", "queue.backoff_base_seconds", "0")
    proc = subprocess.Popen(
        [PYTHON, "-m", "ringrift_cli", "selfplay", "square8_2p", "--games", "12", "--sims", "16",
         "--parallel", "1", "--model", "none", "--seed", "3", "--json"],
        env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    shard = home / "runs" / "1" / "selfplay-job1.db.tmp"
    deadline = time.time() + 120
    finished = 0
    while time.time() < deadline and finished < 2:
        time.sleep(0.2)
        if shard.exists():
            try:
                conn = sqlite3.connect(shard)
                finished = conn.execute("SELECT count(*) FROM games").fetchone()[0]
                conn.close()
            except sqlite3.DatabaseError:
                pass
    assert finished >= 2, proc.stderr.read() if proc.poll() is not None else "no games finished in time"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(shard)
    kept = dict(conn.execute("SELECT game_index, seed FROM games"))
    conn.close()
    assert len(kept) >= 2
    assert list_artifacts(ctx.store, "square8_2p", "games") == []  # nothing registered from a dead run

    time.sleep(2.2)  # the lease passes
    rescue = subprocess.run([PYTHON, "-m", "ringrift_cli", "worker", "--kinds", "selfplay"],
                            env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert rescue.returncode == 0, rescue.stderr
    job = q.get_job(ctx.store, 1)
    assert job.status == "done" and job.attempts == 2 and job.result["games"] == 12, (job.status, job.error)
    _, games = read_games(home / job.result["path"])
    # The games finished before the kill are kept as they were (whatever order processes finished them).
    assert kept.items() <= {g.index: g.seed for g in games}.items() and len({g.seed for g in games}) == 12
    assert sorted(g.index for g in games) == list(range(12))
    assert not shard.exists()


def test_temperature_and_noise_apply_in_puct_selfplay(ctx, home):
    from ringrift_cli.ai.encoding import indices_for_moves

    run_cli("config", "set", "search.gumbel", "false")

    def play(**params):
        args = ["queue", "add", "selfplay", "square8_2p", "--param", "games=2", "--param", "model=none",
                "--param", "sims=24", "--param", "seed=4", "--json"]
        for key, value in params.items():
            args[-1:-1] = ["--param", f"{key}={value}"]
        job_id = json.loads(run_cli(*args).output)["id"]
        assert run_cli("worker", "--kinds", "selfplay").exit_code == 0
        return read_games(home / q.get_job(ctx.store, job_id).result["path"])[1]

    def chose_less_visited(games, plies: int) -> bool:
        """Whether any searched move among the first ``plies`` was not a most-visited one."""
        for game in games:
            state = state_from_json(game.initial_state)
            for record in game.moves[:plies]:
                move = move_from_json(record.move, state.board)
                if record.searched:
                    [group] = indices_for_moves(state, [move])
                    share = dict(zip(record.policy_indices.tolist(), record.policy_probs.tolist()))
                    if sum(share.get(i, 0.0) for i in group) < max(share.values()) - 1e-6 and len(group) == 1:
                        return True
                apply_move_inplace(state, move, undo=False)
        return False

    sampled = play(temperature_plies=40, dirichlet_fraction=0.0)
    greedy = play(temperature_plies=0, dirichlet_fraction=0.0)
    assert chose_less_visited(sampled, 40) and not chose_less_visited(greedy, 40)
    noisy = play(temperature_plies=0, dirichlet_fraction=0.5)
    first = lambda games: (games[0].moves[0].policy_indices.tolist(), games[0].moves[0].policy_probs.tolist())
    assert first(noisy) != first(greedy)  # same seed: only the root noise differs


def test_unseeded_jobs_play_different_games_and_record_their_seed(home):
    first = selfplay_json("hex8_2p", "--games", "2", "--sims", "4", "--model", "none")
    second = selfplay_json("hex8_2p", "--games", "2", "--sims", "4", "--model", "none")
    assert first["seed"] != second["seed"]
    hashes = [{g.final_hash for g in read_games(home / r["path"])[1]} for r in (first, second)]
    assert not hashes[0] & hashes[1]


def test_resume_plays_exactly_the_missing_game_indices(ctx, home):
    from ringrift_cli.ai.evaluators import HeuristicEvaluator
    from ringrift_cli.ai.selfplay import SelfplaySettings, play_selfplay

    played = []
    play_selfplay("hex8_2p", HeuristicEvaluator(), "heuristic", SelfplaySettings(simulations=4), indices=[3, 0, 5],
                  parallel=3, base_seed=11, on_game=played.append)
    assert sorted(r.index for r in played) == [0, 3, 5]
    again = []
    play_selfplay("hex8_2p", HeuristicEvaluator(), "heuristic", SelfplaySettings(simulations=4), indices=[5],
                  parallel=1, base_seed=11, on_game=again.append)
    assert again[0].final_hash == next(r for r in played if r.index == 5).final_hash


def test_bad_selfplay_params_are_refused_at_enqueue(ctx, home):
    for param in ("dirichlet_fraction=2", "c_puct=-5", "temperature_plies=-3", "seed=1.5", "games=0"):
        refused = run_cli("queue", "add", "selfplay", "hex8_2p", "--param", param, "--json")
        assert refused.exit_code == 2 and param.split("=")[0] in refused.stderr, (param, refused.stderr)
    assert q.list_jobs(ctx.store) == []


def test_a_stored_row_with_bad_params_goes_dead_without_playing(ctx, home):
    job, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p", params={"games": 1}))
    with ctx.store.write() as conn:  # a row written before the schema had this bound
        conn.execute("UPDATE jobs SET params = ? WHERE id = ?", ('{"games": 0}', job.id))
    run_cli("worker", "--kinds", "selfplay")
    dead = q.get_job(ctx.store, job.id)
    assert dead.status == "dead" and dead.attempts == 1 and "games" in dead.error


def test_one_simulation_per_move_still_records_a_distribution(home):
    result = selfplay_json("hex8_2p", "--games", "1", "--sims", "1", "--model", "none")
    _, [game] = read_games(home / result["path"])
    searched = [m for m in game.moves if m.searched]
    assert searched and all(len(m.policy_indices) >= 1 and abs(m.policy_probs.sum() - 1) < 1e-5 for m in searched)


def test_gumbel_selfplay_records_the_improved_policy_and_explores_only_early(ctx, home):
    from ringrift_cli.ai.encoding import indices_for_moves

    job_id = json.loads(run_cli("queue", "add", "selfplay", "hex8_2p", "--param", "games=2", "--param", "model=none",
                                "--param", "sims=16", "--param", "seed=5", "--param", "temperature_plies=30",
                                "--json").output)["id"]
    assert run_cli("worker", "--kinds", "selfplay").exit_code == 0
    games = read_games(home / q.get_job(ctx.store, job_id).result["path"])[1]
    early, late = [], []
    for game in games:
        state = state_from_json(game.initial_state)
        for record in game.moves:
            move = move_from_json(record.move, state.board)
            if record.searched:
                # An improved policy puts mass on every legal move (unvisited ones through v_mix).
                every = {i for group in indices_for_moves(state, legal_moves(state)) for i in group}
                assert set(record.policy_indices.tolist()) == every
                [group] = indices_for_moves(state, [move])
                share = dict(zip(record.policy_indices.tolist(), record.policy_probs.tolist()))
                best = sum(share.get(i, 0.0) for i in group) >= max(share.values()) - 1e-6
                (early if record.ply < 30 else late).append(best)
            apply_move_inplace(state, move, undo=False)
    # The noise makes some early moves other than the target's best; later the search plays its best
    # survivor, which the improved policy ranks first unless an unvisited move's v_mix outranks it.
    assert not all(early) and late and sum(late) >= 0.8 * len(late)


def test_finishing_a_shard_waits_out_a_reader_and_always_closes(tmp_path):
    """Leaving WAL mode fails at once while another connection has the file open: finishing waits for
    the reader to go, and when it does not go, fails with its connection closed (an open one would
    refuse every later attempt of the job in the same process)."""
    import threading

    from ringrift_cli.store.game_records import finish_shard, open_shard

    path = tmp_path / "shard.db"
    writer = open_shard(path, {"config_key": "hex8_2p"})
    reader = sqlite3.connect(path, check_same_thread=False)  # closed by the timer's thread
    reader.execute("SELECT count(*) FROM games").fetchall()
    threading.Timer(0.5, reader.close).start()
    finish_shard(writer)
    assert not (tmp_path / "shard.db-wal").exists()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    check.close()

    second = tmp_path / "second.db"
    writer = open_shard(second, {"config_key": "hex8_2p"})
    reader = sqlite3.connect(second)
    reader.execute("SELECT count(*) FROM games").fetchall()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        finish_shard(writer, wait_seconds=0.3)
    with pytest.raises(sqlite3.ProgrammingError):
        writer.execute("SELECT 1")
    reader.close()
