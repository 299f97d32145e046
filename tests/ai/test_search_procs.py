"""Selfplay over several search processes: same games whatever N, one writer, no orphans, clean failure."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ringrift_cli.ai.evaluators import HeuristicEvaluator, NetEvaluator
from ringrift_cli.ai.search_procs import SearchProcessFailed, play_selfplay_procs
from ringrift_cli.ai.selfplay import SelfplaySettings
from ringrift_cli.store import queue as q
from ringrift_cli.store.game_records import read_games
from ringrift_testing import sigint_as_at_a_terminal

CONFIG = "square8_2p"
SETTINGS = SelfplaySettings(simulations=4)


def play(evaluator, indices, procs, *, on_move=lambda tally: None, **options):
    games = []
    tally = play_selfplay_procs(CONFIG, evaluator, "m", SETTINGS, indices=indices, parallel=2, base_seed=7,
                                procs=procs, on_game=games.append, on_move=on_move, **options)
    return {game.index: game for game in games}, tally


def same_games(a: dict, b: dict, exact: bool = True) -> None:
    assert sorted(a) == sorted(b)
    for index in a:
        assert a[index].final_hash == b[index].final_hash
        assert [m.move for m in a[index].moves] == [m.move for m in b[index].moves]
        for x, y in zip(a[index].moves, b[index].moves):
            if exact:
                assert x.policy_probs.tolist() == y.policy_probs.tolist() and x.search_values == y.search_values
            else:
                assert np.allclose(x.policy_probs, y.policy_probs, rtol=1e-4, atol=1e-7)


def children_named(prefix: str) -> list:
    return [p for p in multiprocessing.active_children() if p.name.startswith(prefix)]


def test_games_do_not_depend_on_the_number_of_processes():
    one, tally_one = play(HeuristicEvaluator(), [0, 1, 2, 3, 4], procs=1)
    two, tally_two = play(HeuristicEvaluator(), [0, 1, 2, 3, 4], procs=2)
    same_games(one, two)
    assert tally_two.games == 5 and tally_two.moves == tally_one.moves == sum(len(g.moves) for g in two.values())
    assert tally_two.evaluations == tally_one.evaluations > 0
    assert not children_named("ringrift-")


def tiny_net_evaluator():
    import torch

    from ringrift_cli.ai.net import new_net

    torch.manual_seed(0)
    net, _ = new_net(CONFIG, "tiny")
    return NetEvaluator(net, CONFIG)


@pytest.fixture
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in each search process: the last bits of a forward depend on the threads
    yield
    torch.set_num_threads(threads)


def test_network_copies_per_process_and_the_batching_evaluator_record_the_one_process_games(one_thread):
    evaluator = tiny_net_evaluator()
    one, _ = play(evaluator, [0, 1], procs=1)
    copies, _ = play(evaluator, [0, 1], procs=2)
    batched, tally = play(evaluator, [0, 1], procs=2, batch_evaluator=True)  # forced on a CPU
    # A forward's last bits depend on its batch size (the kernel chosen), and which games share a
    # batch depends on the processes: with a network, the same moves and targets equal to float
    # precision (the heuristic's games are equal bit for bit).
    same_games(one, copies, exact=False)
    same_games(one, batched, exact=False)
    assert tally.batches > 0 and 0 < tally.batch_fill <= 1
    # Where the time went, as the benchmark reports it: both ends of the pipe timed.
    send, wait, receive = tally.pipe_seconds
    assert send > 0 and wait > 0 and receive > 0 and tally.search_cpu_seconds > 0
    idle, gather, forward, reply = tally.evaluator_seconds
    assert forward > 0 and reply > 0 and idle + gather > 0
    assert not children_named("ringrift-")


def kill_first(prefix: str, after_games: int):
    """An on_move callback that SIGKILLs the first child named ``prefix`` once ``after_games`` are in."""
    killed = []

    def on_move(tally):
        if not killed and tally.games >= after_games:
            [victim] = children_named(prefix)[:1]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    return on_move, killed


def test_a_killed_search_process_fails_the_job_and_resume_plays_the_rest():
    on_move, killed = kill_first("ringrift-search-0", after_games=1)
    games: list = []
    with pytest.raises(SearchProcessFailed, match="died"):
        play_selfplay_procs(CONFIG, HeuristicEvaluator(), "m", SETTINGS, indices=list(range(8)), parallel=1,
                            base_seed=7, procs=2, on_game=games.append, on_move=on_move)
    assert killed and not children_named("ringrift-")  # the other search process was stopped too
    indices = [game.index for game in games]
    assert len(indices) == len(set(indices)) < 8
    rest, _ = play(HeuristicEvaluator(), sorted(set(range(8)) - set(indices)), procs=2)
    whole, _ = play(HeuristicEvaluator(), list(range(8)), procs=1)
    same_games({**{g.index: g for g in games}, **rest}, whole)


def test_a_killed_batching_evaluator_stops_every_search_process():
    on_move, killed = kill_first("ringrift-evaluator", after_games=0)
    with pytest.raises(SearchProcessFailed):
        play(tiny_net_evaluator(), list(range(6)), procs=2, batch_evaluator=True, on_move=on_move)
    assert killed and not children_named("ringrift-")


def child_pids(pid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("ctrl_c", [False, True], ids=["sigterm-to-the-job", "ctrl-c-to-the-group"])
def test_sigterm_or_ctrl_c_stops_every_child_and_hands_the_job_back(ctx, home, subprocess_env, ctrl_c):
    proc = subprocess.Popen([sys.executable, "-m", "ringrift_cli", "selfplay", CONFIG, "--games", "40",
                             "--sims", "8", "--model", "none", "--procs", "2", "--json"],
                            env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=sigint_as_at_a_terminal)
    shard = home / "runs" / "1" / "selfplay-job1.db.tmp"
    deadline = time.time() + 120
    children: list[int] = []
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        children = child_pids(proc.pid)
        if len(children) >= 2 and shard.exists() and recorded(shard) >= 1:
            break
    assert proc.poll() is None and len(children) >= 2, proc.stderr.read() if proc.poll() is not None else children
    if ctrl_c:
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the job's process and its children
    else:
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)]
    job = q.get_job(ctx.store, 1)
    assert job.status == "queued" and job.claimed_by is None  # released, not left claimed
    indices = [row[0] for row in sqlite3.connect(shard).execute("SELECT game_index FROM games")]
    assert len(indices) == len(set(indices))


def recorded(shard: Path) -> int:
    try:
        conn = sqlite3.connect(shard)
        try:
            return conn.execute("SELECT count(*) FROM games").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return 0


def test_sigkill_of_the_job_process_leaves_no_search_process(subprocess_env, tmp_path):
    script = ("import sys; from ringrift_cli.ai.evaluators import HeuristicEvaluator\n"
              "from ringrift_cli.ai.search_procs import play_selfplay_procs\n"
              "from ringrift_cli.ai.selfplay import SelfplaySettings\n"
              "if __name__ == '__main__':\n"
              "    play_selfplay_procs('square8_2p', HeuristicEvaluator(), 'm', SelfplaySettings(simulations=8),\n"
              "        indices=list(range(50)), parallel=1, base_seed=1, procs=2,\n"
              "        on_game=lambda g: print(g.index, flush=True))\n")
    path = tmp_path / "job.py"
    path.write_text(script)
    proc = subprocess.Popen([sys.executable, str(path)], env=subprocess_env, stdout=subprocess.PIPE)
    deadline = time.time() + 60
    children: list[int] = []
    while time.time() < deadline and len(children) < 2:
        time.sleep(0.2)
        children = child_pids(proc.pid)
    assert len(children) >= 2
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)]


def test_procs_setting_and_param_take_auto_or_a_bounded_whole_number(ctx, home):
    import json

    from ringrift_testing import run_cli

    assert run_cli("config", "set", "selfplay.procs", "auto").exit_code == 0
    assert run_cli("config", "set", "selfplay.procs", "3").exit_code == 0
    for bad in ("0", "many", "2000", "1.5"):
        result = run_cli("config", "set", "selfplay.procs", bad)
        assert result.exit_code == 2 and "selfplay.procs" in result.output, bad
    # The job param is checked when the job is enqueued: a bad one never reaches a worker.
    for bad in ("0", "1.5", "x", "2000"):
        result = run_cli("queue", "add", "selfplay", CONFIG, "--param", f"procs={bad}")
        assert result.exit_code == 2 and "procs" in result.output, bad
    assert not q.list_jobs(ctx.store, kind="selfplay")
    job = json.loads(run_cli("queue", "add", "selfplay", CONFIG, "--param", "procs=auto", "--json").output)
    assert job["params"]["procs"] == "auto"


def test_selfplay_jobs_with_one_and_two_processes_record_the_same_shard(home):
    import json

    from ringrift_testing import run_cli

    shards = []
    for procs in ("1", "2"):
        result = run_cli("selfplay", CONFIG, "--games", "3", "--sims", "4", "--parallel", "2", "--model", "none",
                         "--seed", "5", "--procs", procs, "--json")
        assert result.exit_code == 0, result.output
        _, games = read_games(home / json.loads(result.output)["path"])
        shards.append({game.index: game for game in games})
    same_games(*shards)


def test_the_batching_evaluator_returns_the_priors_and_values_of_the_network_in_this_process(one_thread):
    """Only the logits a leaf's moves read cross the pipe; what the search gets is unchanged."""
    import random

    from ringrift_cli.ai.batch_evaluator import start_batch_evaluator
    from ringrift_cli.game import apply_move_inplace, initial_state, legal_moves, state_from_json, state_to_json

    rng, state, states = random.Random(5), initial_state(CONFIG), []
    while len(states) < 40:
        if state.is_over():
            state = initial_state(CONFIG)
        states.append(state.copy())
        moves = legal_moves(state)
        apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)
    # A recovery slide offered in several variants: moves whose policy indices are shared.
    doc = state_to_json(initial_state(CONFIG))
    doc.update(stacks={"6,6": [1, 2], "0,7": [1, 2]}, markers={"0,3": 1, "1,3": 1, "2,3": 1, "4,3": 1, "3,4": 1},
               rings_in_hand=[0, 16], phase="movement")
    states.insert(20, state_from_json(doc))
    evaluator = tiny_net_evaluator()
    items = [evaluator.prepare(s, legal_moves(s)) for s in states]
    assert any(item.distinct is None for item in items)
    child, [remote] = start_batch_evaluator(multiprocessing.get_context("spawn"), evaluator, 1)
    try:
        got = remote.run(items)
    finally:
        remote.close()
        child.process.join(timeout=10)
    for (priors, seats), (want_priors, want_seats) in zip(got, evaluator.run(items)):
        assert priors.tobytes() == want_priors.tobytes() and seats.tobytes() == want_seats.tobytes()
    assert remote.times.wait > 0 and not child.process.is_alive()


def test_a_network_evaluator_travels_to_a_child_as_numpy_weights():
    """torch's own pickling of tensors for a child process passes file descriptors that must stay
    open until the child starts (a GPU host failed with "bad value(s) in fds_to_keep"); the weights
    travel as plain arrays instead, and the copy computes what the original does."""
    import pickle
    from multiprocessing.reduction import ForkingPickler

    evaluator = tiny_net_evaluator()
    data = bytes(ForkingPickler.dumps(evaluator))
    assert b"torch" not in data
    copy = pickle.loads(data)
    shape = evaluator.net.shape
    rng = np.random.default_rng(0)
    planes = rng.random((3, shape.planes, shape.height, shape.width), dtype=np.float32)
    globals_ = rng.random((3, shape.globals), dtype=np.float32)
    for mine, theirs in zip(evaluator.forward(planes, globals_), copy.forward(planes, globals_)):
        assert mine.tobytes() == theirs.tobytes()


def test_joined_requests_keep_each_search_processs_rows_and_logits():
    from ringrift_cli.ai.batch_evaluator import join_requests

    width = 10
    first = (np.zeros((2, 3), np.float32), np.zeros((2, 1), np.float32), np.array([1, 4, 10 + 7]))
    second = (np.ones((3, 3), np.float32), np.ones((3, 1), np.float32), np.array([0, 2 * 10 + 9]))
    batch = join_requests([first, second], width)
    assert batch.planes.shape == (5, 3) and batch.globals.shape == (5, 1)
    assert batch.rows == [slice(0, 2), slice(2, 5)] and batch.logits == [slice(0, 3), slice(3, 5)]
    # The second request's offsets move down by its first row (2) times the policy width.
    assert batch.take.tolist() == [1, 4, 17, 20, 49]
