"""Selfplay speed against the network's own ceiling.

    python benchmarks/selfplay_bench.py [--config square8_2p] [--games 64] [--moves 2] [--device cpu]
    python benchmarks/selfplay_bench.py --procs 1,2 [--presets small] [--sims 128] [--seconds 30]

For each preset (tiny, small, or heuristic: the hand-written evaluator of
bootstrap selfplay, no network) and simulation count (32, 128): play
``--moves`` searched moves in each of ``--games`` games at once, exactly as
selfplay does (batched PUCT, virtual loss, root noise), and report positions
(moves) per second and leaf evaluations per second. The ceiling is the same
network's forward throughput on batches of the same size; search overhead
is 1 - achieved evaluations/s / ceiling evaluations/s. Each setting runs
twice: with network calls and leaf selection in sequence (selfplay's way on
a CPU) and overlapped on a background thread (its way on an accelerator);
the target is judged on the mode selfplay uses on the device. A third row,
"gumbel", runs selfplay's default root search (Gumbel sequential halving,
one leaf per game per network call, so batches are at most ``--games``).

With ``--procs``, selfplay itself runs (``play_selfplay_procs``, the path of
``ringrift selfplay --procs N``) for each process count, the ``--games``
games at once in each process, and evaluations/s are read from its tally
over ``--seconds`` after a warm-up (process start and the network's load
excluded); the ceiling is the network at the batch one process forms
(``--games``) and, with the batching evaluator, at the batch it formed.
With the batching evaluator a second line says where the time went: the
search processes' CPU per leaf and their time on the pipe, and the
evaluator's time idle, gathering requests, running the network and replying.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ringrift_cli.ai.evaluators import NetEvaluator  # noqa: E402
from ringrift_cli.ai.batch_search import pick_move, search_positions  # noqa: E402
from ringrift_cli.ai.mcts import Search, add_root_noise, choose_move, run_simulations  # noqa: E402
from ringrift_cli.ai.net import new_net  # noqa: E402
from ringrift_cli.ai.selfplay import SelfplaySettings  # noqa: E402
from ringrift_cli.game import apply_move_inplace, initial_state, legal_moves  # noqa: E402


def opening_positions(config_key: str, games: int, seed: int) -> list:
    """Distinct early positions (a few random moves in), so the batch is not one position 64 times."""
    rng = np.random.default_rng(seed)
    states = []
    for _ in range(games):
        state = initial_state(config_key)
        for _ in range(int(rng.integers(2, 12))):
            moves = legal_moves(state)
            apply_move_inplace(state, moves[int(rng.integers(len(moves)))], validate=False, undo=False)
        states.append(state)
    return states


def forward_ceiling(net, shape, batch: int, device: str, windows: int = 5, seconds: float = 1.0) -> float:
    """Evaluations per second of the bare network on random batches of ``batch`` positions:
    the median of several timed windows, since one window swings by ±20% on a shared machine."""
    import statistics

    planes = torch.randn(batch, shape.planes, shape.height, shape.width, device=device)
    globals_ = torch.randn(batch, shape.globals, device=device)
    rates = []
    with torch.inference_mode():
        for _ in range(3):
            net(planes, globals_)
        for _ in range(windows):
            calls, began = 0, time.perf_counter()
            while time.perf_counter() - began < seconds:
                net(planes, globals_)
                calls += 1
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            rates.append(calls * batch / (time.perf_counter() - began))
    return statistics.median(rates)


def selfplay_rate(config_key: str, evaluator, simulations: int, games: int, moves: int,
                  overlap: bool = True, gumbel: bool = False) -> tuple[float, float]:
    """(positions/s, evaluations/s) of batched selfplay search: PUCT at the root with virtual loss
    filling batches of ``games``, or (``gumbel``) selfplay's Gumbel root search, one leaf per game."""
    settings = SelfplaySettings(simulations=simulations, gumbel=gumbel).search_settings(config_key)
    rng = np.random.default_rng(0)
    searches = [Search(state, settings) for state in opening_positions(config_key, games, 1)]
    evaluations, positions, began = 0, 0, time.perf_counter()
    for _ in range(moves):
        searches = [s for s in searches if not s.state.is_over() and len(legal_moves(s.state)) > 1]
        if gumbel:
            evaluations += search_positions(searches, evaluator, settings, noise=[rng] * len(searches))
            for search in searches:
                search.advance(pick_move(search, 0.0, rng))
                positions += 1
            continue
        fresh = [s for s in searches if s.root is None]
        evaluations += run_simulations(fresh, evaluator, 1)
        for search in searches:
            search.root_priors(evaluator)  # an evaluator may leave priors to the first descent
            add_root_noise(search.root, settings, rng)
        evaluations += run_simulations(searches, evaluator, simulations, batch_size=games, overlap=overlap)
        for search in searches:
            search.advance(choose_move(search.root.visits, 1.0, rng))
            positions += 1
    elapsed = time.perf_counter() - began
    return positions / elapsed, evaluations / elapsed


class Enough(Exception):
    pass


@dataclass
class Snapshot:
    """The job's tally at one moment of a measurement."""

    at: float
    evaluations: int
    cpu: float
    batches: int
    batch_rows: int
    pipe: list  # search processes' pipe seconds: send, wait, receive
    search_cpu: float  # search processes' CPU seconds
    evaluator: list  # evaluator seconds: idle, gather, forward, reply

    @classmethod
    def of(cls, tally) -> "Snapshot":
        return cls(time.perf_counter(), tally.evaluations, cpu_seconds(), tally.batches, tally.batch_rows,
                   list(tally.pipe_seconds), tally.search_cpu_seconds, list(tally.evaluator_seconds))


@dataclass
class Window:
    """What happened between two snapshots."""

    seconds: float
    evaluations: int
    cpu: float
    batches: int
    batch_rows: int
    pipe: list
    search_cpu: float
    evaluator: list

    @classmethod
    def between(cls, first: Snapshot, last: Snapshot) -> "Window":
        return cls(last.at - first.at, last.evaluations - first.evaluations, last.cpu - first.cpu,
                   last.batches - first.batches, last.batch_rows - first.batch_rows,
                   [b - a for a, b in zip(first.pipe, last.pipe)], last.search_cpu - first.search_cpu,
                   [b - a for a, b in zip(first.evaluator, last.evaluator)])


def procs_rate(config_key: str, net, simulations: int, games: int, procs: int, device: str, seconds: float,
               batch_evaluator: bool) -> Window:
    """Real selfplay over ``procs`` processes, measured over ``seconds`` once the first evaluations are in
    plus a warm-up of 3 s."""
    from ringrift_cli.ai.search_procs import play_selfplay_procs

    warmed: list = []
    marks: list[Snapshot] = []

    def on_move(tally) -> None:
        now = time.perf_counter()
        if not warmed and tally.evaluations:
            warmed.append(now + 3.0)
        elif warmed and not marks and now >= warmed[0]:
            marks.append(Snapshot.of(tally))
        elif marks and now - marks[0].at >= seconds:
            marks.append(Snapshot.of(tally))
            raise Enough

    settings = SelfplaySettings(simulations=simulations)
    try:
        play_selfplay_procs(config_key, NetEvaluator(net, config_key, device), "bench", settings,
                            indices=list(range(games * procs * 4)), parallel=games, base_seed=1, procs=procs,
                            on_game=lambda record: None, on_move=on_move, batch_evaluator=batch_evaluator)
    except Enough:
        pass
    if len(marks) < 2:
        raise SystemExit("the games ended before the measurement did: raise --games or lower --seconds")
    return Window.between(*marks)


def time_breakdown(window: Window, procs: int) -> str:
    """Where the search processes' and the evaluator's time went. A search process's CPU time is its
    interpreter's work per leaf (selecting, generating moves, encoding, backing up, its half of the
    pickling); what is left of its wall time it spent on the pipe or waiting for a core."""
    send, wait, receive = window.pipe
    searching = procs * window.seconds
    idle, gather, forward, reply = window.evaluator
    leaf_us = 1e6 * window.search_cpu / max(window.evaluations, 1)
    return (f"search processes: CPU busy {window.search_cpu / searching:.0%} ({leaf_us:.0f} us CPU per leaf); "
            f"per request: send {send / searching:.0%}, waiting {wait / searching:.0%}, "
            f"receive {receive / searching:.0%} of their wall time; "
            f"evaluator: idle {idle / window.seconds:.0%}, gather {gather / window.seconds:.0%}, "
            f"network {forward / window.seconds:.0%}, reply {reply / window.seconds:.0%}, "
            f"{window.batches / window.seconds:.0f} batches/s")


def cpu_seconds() -> float:
    """CPU time of this process and its live children (from /proc: children are not reaped yet)."""
    import multiprocessing
    import os

    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for child in multiprocessing.active_children():
        try:
            fields = open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def procs_main(args) -> None:
    counts = [int(n) for n in args.procs.split(",")]
    print(f"{args.config}, {args.games} games at once in each process, device {args.device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads here (1 per search process), load average {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")
    print(f"{'preset':>6} {'sims':>5} {'procs':>5} {'evaluator':>9} {'evals/s':>9} {'vs 1':>6} {'evals/cpu-s':>11} "
          f"{'batch':>6} {'ceiling evals/s':>16} {'of ceil':>7}")
    batching = args.device != "cpu" or args.shared
    for preset in args.presets.split(","):
        net, info = new_net(args.config, preset)
        net = net.to(args.device).eval()
        for sims in [int(s) for s in args.sims.split(",")]:
            base = None
            for procs in counts:
                window = procs_rate(args.config, net, sims, args.games, procs, args.device, args.seconds, batching)
                rate = window.evaluations / window.seconds
                per_cpu = window.evaluations / max(window.cpu, 1e-9)
                base = base or rate
                batch = window.batch_rows / window.batches if window.batches else args.games
                ceiling = forward_ceiling(net, info.shape, max(1, round(batch)), args.device, windows=3)
                label = "shared" if batching else "copies"
                print(f"{preset:>6} {sims:>5} {procs:>5} {label:>9} {rate:>9.0f} {rate / base:>5.2f}x {per_cpu:>11.0f} "
                      f"{batch:>6.1f} {ceiling:>16.0f} {rate / ceiling:>7.0%}", flush=True)
                if batching:
                    print(f"{'':>6} {time_breakdown(window, procs)}", flush=True)
    print("evals/cpu-s: evaluations per CPU second of all the job's processes; where other process groups "
          "(setsid) hold the cores (Linux autogroup gives each an equal share), evals/s cannot scale, "
          "evals/cpu-s shows the cost")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="square8_2p")
    parser.add_argument("--games", type=int, default=64)
    parser.add_argument("--moves", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--presets", default="tiny,small")
    parser.add_argument("--sims", default="32,128")
    parser.add_argument("--procs", help="process counts, e.g. 1,2: measure selfplay over processes instead")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per process count (--procs)")
    parser.add_argument("--shared", action="store_true",
                        help="with --procs on a CPU: one batching evaluator process, as on an accelerator")
    parser.add_argument("--threads", type=int, help="torch threads of this process (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.procs:
        procs_main(args)
        return
    torch.set_flush_denormal(True)  # as NetEvaluator does; the ceiling gets the same treatment
    print(f"{args.config}, {args.games} games at once, {args.moves} searched moves each, device {args.device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'preset':>6} {'sims':>5} {'mode':>10} {'positions/s':>12} {'evals/s':>9} {'ceiling evals/s':>16} "
          f"{'overhead':>9}")
    for preset in args.presets.split(","):
        if preset == "heuristic":
            heuristic_rows(args)
            continue
        net, info = new_net(args.config, preset)
        net = net.to(args.device).eval()
        evaluator = NetEvaluator(net, args.config, args.device)
        selfplay_rate(args.config, evaluator, 8, 8, 1)  # warm caches and thread pools
        ceiling = forward_ceiling(net, info.shape, args.games, args.device)
        for sims in [int(s) for s in args.sims.split(",")]:
            for overlap, gumbel in ((False, False), (True, False), (args.device != "cpu", True)):
                positions, evals = selfplay_rate(args.config, evaluator, sims, args.games, args.moves, overlap, gumbel)
                overhead = 1 - evals / ceiling
                mode = "gumbel" if gumbel else "overlapped" if overlap else "sequential"
                default_mode = overlap == (args.device != "cpu")  # what selfplay uses on this device
                note = ("  target < 50%: " + ("met" if overhead < 0.5 else "MISSED")) if (
                    sims == 128 and default_mode and not gumbel) else ""
                print(f"{preset:>6} {sims:>5} {mode:>10} {positions:>12.1f} {evals:>9.0f} {ceiling:>16.0f} "
                      f"{overhead:>8.0%}{note}")


def heuristic_rows(args) -> None:
    """Bootstrap selfplay's evaluator (``--model none``): the hand-written value and its one-ply prior
    over every move, computed in the search's own process; no network, so no ceiling."""
    from ringrift_cli.ai.evaluators import HeuristicEvaluator

    for sims in [int(s) for s in args.sims.split(",")]:
        for gumbel in (False, True):
            positions, evals = selfplay_rate(args.config, HeuristicEvaluator(), sims, args.games, args.moves,
                                             False, gumbel)
            mode = "gumbel" if gumbel else "sequential"
            print(f"{'heur.':>6} {sims:>5} {mode:>10} {positions:>12.1f} {evals:>9.0f} {'-':>16} {'-':>9}")


if __name__ == "__main__":
    main()
