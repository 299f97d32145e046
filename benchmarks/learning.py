"""Proof that the loop learns: N iterations of selfplay -> export -> train -> eval -> promote.

    python benchmarks/learning.py [--iterations 4] [--games 64] [--sims 32] [--eval-games 20]
                                  [--preset small] [--epochs 6] [--cpu-seconds 3600] [--scratch]
                                  [--home DIR]

Runs the real commands (``python -m ringrift_cli ...``) from an empty data
root on hex8_2p, with the settings of the ``quickstart`` profile (the gate's
floor against heuristic at 0, so that a first model that beats random
promotes and selfplay moves on to it) and the sizes given here. Selfplay
uses ``--model best`` (the heuristic until a model is promoted); each
training warm-starts from the best model (with ``--scratch``, each trains
from scratch). It stops after ``--iterations`` or once the commands have
used ``--cpu-seconds`` of CPU. After each iteration it prints the games and
samples so far, the candidate's train and validation losses, its score
against random and heuristic, the gate's decision, the best model's Elo,
the seconds each stage took and the CPU seconds used so far (all
processes). The target: the promoted model beats
random >= 95% and clearly improves on the first model against heuristic.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = "hex8_2p"


def rr(home: Path, *args: str) -> dict:
    env = dict(os.environ, RINGRIFT_HOME=str(home), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "ringrift_cli", *args, "--json"], env=env, capture_output=True,
                          text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ringrift {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def setup(home: Path, args) -> None:
    env = dict(os.environ, RINGRIFT_HOME=str(home), PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "ringrift_cli", "init"], env=env, check=True, capture_output=True)
    for key, value in (("profile", "quickstart"), ("promote.min_games", args.eval_games), ("eval.games", args.eval_games),
                       ("eval.simulations", args.sims), ("promote.sprt_max_games", args.sprt_games)):
        subprocess.run([sys.executable, "-m", "ringrift_cli", "config", "set", key, str(value)], env=env, check=True,
                       capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=4)
    parser.add_argument("--games", type=int, default=64, help="selfplay games per iteration")
    parser.add_argument("--sims", type=int, default=32)
    parser.add_argument("--eval-games", type=int, default=20, help="games against each opponent")
    parser.add_argument("--sprt-games", type=int, default=200,
                        help="most head-to-head games of the gate (fewer leaves a clearly stronger candidate "
                             "undecided, hence rejected)")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--cpu-seconds", type=float, default=3600.0,
                        help="start no iteration once the commands have used this much CPU")
    parser.add_argument("--scratch", action="store_true",
                        help="train every candidate from scratch on the window instead of warm-starting from the "
                             "best model (the same samples per epoch, without epochs piling up on old samples)")
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="learning-"))
    setup(home, args)
    print(f"data root {home}; {CONFIG}, preset {args.preset}, {args.games} games/iteration at {args.sims} sims")
    started, games, samples, first_vs_heuristic = time.monotonic(), 0, 0, None
    for iteration in range(1, args.iterations + 1):
        if cpu_seconds() >= args.cpu_seconds:
            print(f"stopping: {cpu_seconds():.0f} CPU seconds used (budget {args.cpu_seconds:.0f})")
            break
        t0, stages = time.monotonic(), {}

        def stage(name: str, *command: str, stages=stages) -> dict:
            begun = time.monotonic()
            result = rr(home, *command)
            stages[name] = time.monotonic() - begun
            return result

        played = stage("selfplay", "selfplay", CONFIG, "--games", str(args.games), "--sims", str(args.sims),
                       "--model", "best")
        games += played["games"]
        exported = stage("export", "export", CONFIG)
        samples += exported.get("samples", 0)
        # --preset applies when there is no best model yet (the first iterations): then it trains from scratch.
        train_args = ["--epochs", str(args.epochs), "--seed", str(iteration), "--preset", args.preset]
        if iteration == 1 or args.scratch:
            train_args += ["--from", "scratch"]
        trained = stage("train", "train", CONFIG, *train_args)
        evaluated = stage("eval", "eval", CONFIG, "--model", trained["model_id"], "--opponents", "random,heuristic")
        decided = stage("promote", "promote", CONFIG, "--model", trained["model_id"])
        elo = {r["player"]: r for r in rr(home, "elo", CONFIG)["ratings"]}
        best = [r for r in elo.values() if r["status"] == "best"]
        m, s = trained["metrics"], evaluated["scores"]
        if first_vs_heuristic is None:
            first_vs_heuristic = s["heuristic"]["score"]
        print(f"iteration {iteration}: {games} games (+{evaluated.get('games', 0)} eval games as data), "
              f"{samples} samples | train policy {m['train_policy_loss']:.3f} "
              f"value {m['train_value_loss']:.3f} | val policy {m['val_policy_loss']:.3f} value "
              f"{m['val_value_loss']:.3f} top-1 {m['val_top1']:.1%} | vs random {s['random']['score']:.2f} "
              f"vs heuristic {s['heuristic']['score']:.2f} | {decided['decision']}: {decided['reason']} | best Elo "
              + (f"{best[0]['elo']:.0f} [{best[0]['low']:.0f}, {best[0]['high']:.0f}]" if best else "none")
              + f" | {time.monotonic() - t0:.0f}s (" + ", ".join(f"{k} {v:.0f}" for k, v in stages.items())
              + f") | CPU so far {cpu_seconds():.0f}s", flush=True)
    print(f"total {time.monotonic() - started:.0f}s, {cpu_seconds():.0f} CPU seconds; "
          f"first model vs heuristic {first_vs_heuristic:.2f}")


def cpu_seconds() -> float:
    """CPU time of every finished command (and the processes each one waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
