"""Is selfplay data learnable? Selfplay, export, train with the real trainer, measure on held-out games.

    python benchmarks/learnability.py [--config hex8_2p] [--games 100] [--sims 32] [--epochs 4]
                                      [--preset small] [--eval-games 20] [--eval-sims 16]
                                      [--value-blend 0,0.5] [--forced-policy-weight W]

Runs the real commands in temporary data roots: ``ringrift init`` and
``selfplay --model none`` (the heuristic's search) once; then, for each value
blend, a copy of that data root with ``export.value_blend`` set, ``export``
and ``train --from scratch`` (the lifecycle's trainer: by-game validation
split, exact symmetries, AdamW with warm-up and cosine decay, early
stopping). An export of the same games at blend 0 gives every sample's game
result, which each value head is measured against whatever it was trained
on. On the trainer's own validation games (``train.val_fraction``) it
reports:

* policy cross-entropy of the trained network, of the same network before
  training and of the uniform distribution over the legal moves, on the
  searched positions (target: below uniform);
* value MSE against the game result, of the trained network and of the
  mean predictor (the training games' mean result per seat; target: below it);
* the trained and the untrained network's score against ``random`` as
  ``search:N:MODEL`` for each N of ``--eval-sims`` (target: trained >=
  untrained + 15 points).

The legal moves of a sample are its target's support: a Gumbel search's
improved policy puts mass on every legal move.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ringrift_cli.ai.arena import play_match, summarize  # noqa: E402
from ringrift_cli.ai.evaluators import NetEvaluator  # noqa: E402
from ringrift_cli.ai.net import load_model, new_net  # noqa: E402
from ringrift_cli.ai.players import parse_player  # noqa: E402
from ringrift_cli.ai.samples import read_shard  # noqa: E402
from ringrift_cli.settings import default_of  # noqa: E402
from ringrift_cli.train.dataset import is_validation  # noqa: E402

SEED = 1


def ringrift(home: Path, *args: str, json_output: bool = True) -> dict | None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ringrift_cli", *args, "--home", str(home)] + (["--json"] if json_output else [])
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out) if json_output else None


def make_games(config_key: str, games: int, sims: int, home: Path, forced_policy_weight: str | None) -> None:
    ringrift(home, "init")
    if forced_policy_weight is not None:
        ringrift(home, "config", "set", "export.forced_policy_weight", forced_policy_weight, json_output=False)
    ringrift(home, "selfplay", config_key, "--games", str(games), "--sims", str(sims), "--model", "none",
             "--seed", str(SEED))


def exported(home: Path, config_key: str) -> dict:
    """The samples of every shard the export wrote, concatenated, with the targets split per sample."""
    shards = ringrift(home, "export", config_key)["shards"]
    parts = [read_shard(home / shard["path"]).arrays for shard in shards]
    arrays = {key: np.concatenate([p[key] for p in parts]) for key in parts[0] if key != "policy_offsets"}
    return arrays | {"targets": [target for p in parts for target in split_targets(p)]}


def split_targets(arrays: dict) -> list:
    offsets = arrays["policy_offsets"]
    return [(arrays["policy_indices"][a:b].astype(np.int64), arrays["policy_probs"][a:b])
            for a, b in zip(offsets[:-1], offsets[1:])]


def policy_cross_entropy(logits: torch.Tensor, targets: list, rows: np.ndarray) -> np.ndarray:
    """Per-row cross-entropy of the target against the network's softmax over the target's support."""
    losses = []
    for k, row in enumerate(rows):
        indices, probs = targets[row]
        chosen = logits[k, torch.from_numpy(indices)]
        losses.append(-(torch.from_numpy(probs) * torch.log_softmax(chosen, 0)).sum().item())
    return np.array(losses)


def held_out_figures(net, data: dict, outcomes: np.ndarray, rows: np.ndarray) -> tuple[float, float]:
    """Policy cross-entropy on the searched rows, and value MSE against the game results, of ``rows``."""
    net.eval()
    with torch.no_grad():
        logits, values = net(torch.from_numpy(data["features"][rows]), torch.from_numpy(data["globals"][rows]))
    searched = data["searched"][rows]
    ce = policy_cross_entropy(logits, data["targets"], rows)[searched].mean()
    mse = float(((values.numpy() - outcomes[rows]) ** 2).mean())
    return float(ce), mse


def score_against_random(config_key: str, net, games: int, sims: int) -> float:
    evaluator = NetEvaluator(net, config_key)
    specs = [parse_player(f"search:{sims}:net"), parse_player("random")]
    results = list(play_match(config_key, specs, games, base_seed=3, load_model=lambda _: evaluator))
    return summarize([s.name for s in specs], results)[0].score


def untrained_net(config_key: str, preset: str):
    """The network ``train --from scratch --seed SEED`` starts from (same seed, same construction)."""
    torch.manual_seed(SEED)
    return new_net(config_key, preset)[0].eval()


def measure_blend(args, blend: str, games_home: Path, reference: dict, tmp: Path) -> None:
    home = tmp / f"blend-{blend}"
    shutil.copytree(games_home, home)
    ringrift(home, "config", "set", "export.value_blend", blend, json_output=False)
    data = exported(home, args.config)
    if not np.array_equal(data["game_ids"], reference["game_ids"]):
        sys.exit(f"the export at value_blend {blend} holds other samples than the reference export")
    outcomes = reference["values"]
    validation = np.flatnonzero(is_validation(data["game_ids"], default_of("train.val_fraction")))
    began = time.perf_counter()
    trained = ringrift(home, "train", args.config, "--from", "scratch", "--preset", args.preset,
                       "--epochs", str(args.epochs), "--seed", str(SEED))
    net, _ = load_model(home / trained["path"], config_key=args.config)
    untrained = untrained_net(args.config, args.preset)
    train_rows = np.setdiff1d(np.arange(len(outcomes)), validation)
    uniform = np.mean([np.log(len(data["targets"][r][0])) for r in validation if data["searched"][r]])
    mean_mse = float(((outcomes[validation] - outcomes[train_rows].mean(axis=0)) ** 2).mean())
    ce, mse = held_out_figures(net, data, outcomes, validation)
    ce0, mse0 = held_out_figures(untrained, data, outcomes, validation)
    print(f"value_blend {blend}: trained {trained['epochs']} epochs ({args.preset}, stopped early: "
          f"{trained['stopped_early']}) in {time.perf_counter() - began:.0f}s on {len(train_rows)} samples; "
          f"{len(validation)} held out")
    print(f"  policy cross-entropy (searched, held out): trained {ce:.3f}, untrained {ce0:.3f}, "
          f"uniform over legal {uniform:.3f} -> {'ok' if ce < uniform else 'MISSED'}")
    print(f"  value MSE against the result (held out): trained {mse:.3f}, untrained {mse0:.3f}, "
          f"mean predictor {mean_mse:.3f} -> {'ok' if mse < mean_mse else 'MISSED'}", flush=True)
    for sims in [int(s) for s in args.eval_sims.split(",")] if args.eval_games else []:
        trained_score = score_against_random(args.config, net, args.eval_games, sims)
        untrained_score = score_against_random(args.config, untrained, args.eval_games, sims)
        verdict = "ok" if trained_score >= untrained_score + 0.15 else "MISSED"
        print(f"  vs random at search:{sims}, {args.eval_games} games: trained {trained_score:.3f}, "
              f"untrained {untrained_score:.3f} -> {verdict} (target +0.15)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="hex8_2p")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--sims", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--eval-games", type=int, default=20)
    parser.add_argument("--value-blend", default="0",
                        help="Comma-separated export.value_blend values, each exported and trained on the same games.")
    parser.add_argument("--forced-policy-weight", help="export.forced_policy_weight of the run (default: the setting's)")
    parser.add_argument("--eval-sims", default="16",
                        help="Comma-separated simulation counts of the searched players (1: the policy alone).")
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        games_home = tmp / "games"
        make_games(args.config, args.games, args.sims, games_home, args.forced_policy_weight)
        results_home = tmp / "results"
        shutil.copytree(games_home, results_home)
        ringrift(results_home, "config", "set", "export.value_blend", "0", json_output=False)
        reference = exported(results_home, args.config)
        searched = reference["searched"]
        print(f"{args.config}: {args.games} games at {args.sims} sims, {len(searched)} samples "
              f"({searched.mean():.0%} searched) in {time.perf_counter() - began:.0f}s", flush=True)
        for blend in args.value_blend.split(","):
            measure_blend(args, blend.strip(), games_home, reference, tmp)


if __name__ == "__main__":
    main()
