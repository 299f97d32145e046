"""Is selfplay data learnable? Selfplay, export, train a small network, measure on held-out games.

    python benchmarks/learnability.py [--config hex8_2p] [--games 60] [--sims 32] [--epochs 4]
                                      [--preset small] [--eval-games 20] [--eval-sims 1,16]
                                      [--value-blend X] [--forced-policy-weight W]

Runs the real pipeline in a temporary data home (``ringrift init``,
``selfplay --model none``, ``export``), splits the samples by game (a fifth
of the games held out), and trains with a minimal loop (Adam; policy
cross-entropy over the legal moves weighted by ``policy_weight``, plus value
MSE). On the held-out searched positions it reports:

* policy cross-entropy of the network, of the untrained network and of the
  uniform distribution over the legal moves (target: below uniform);
* value MSE of the network and of the mean predictor (target: below it);
* the trained and the untrained network's score against ``random``, both as
  ``search:N:MODEL`` for each N of ``--eval-sims`` (target: trained >=
  untrained + 15 points). At N = 1 the Gumbel search plays the policy's
  best move: the policy alone.

The legal moves of a sample are its target's support: a Gumbel search's
improved policy puts mass on every legal move.
"""

from __future__ import annotations

import argparse
import json
import os
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
from ringrift_cli.ai.net import new_net  # noqa: E402
from ringrift_cli.ai.players import parse_player  # noqa: E402
from ringrift_cli.ai.samples import read_shard  # noqa: E402


def ringrift(home: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "ringrift_cli", *args, "--home", str(home), "--json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def make_samples(config_key: str, games: int, sims: int, home: Path, settings: dict[str, str]) -> dict:
    ringrift(home, "init")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key, value in settings.items():  # (config set prints a line, not JSON)
        subprocess.run([sys.executable, "-m", "ringrift_cli", "config", "set", key, value, "--home", str(home)],
                       env=env, capture_output=True, text=True, check=True)
    ringrift(home, "selfplay", config_key, "--games", str(games), "--sims", str(sims), "--model", "none",
             "--seed", "1")
    shards = ringrift(home, "export", config_key)["shards"]
    parts = [read_shard(home / shard["path"]).arrays for shard in shards]
    return {key: (np.concatenate([p[key] for p in parts]) if key != "policy_offsets" else None)
            for key in parts[0]} | {"targets": [target for p in parts for target in split_targets(p)]}


def split_targets(arrays: dict) -> list:
    offsets = arrays["policy_offsets"]
    return [(arrays["policy_indices"][a:b].astype(np.int64), arrays["policy_probs"][a:b])
            for a, b in zip(offsets[:-1], offsets[1:])]


def policy_cross_entropy(logits: torch.Tensor, targets: list, rows: np.ndarray) -> torch.Tensor:
    """Per-row cross-entropy of the target against the network's softmax over the target's support."""
    losses = []
    for k, row in enumerate(rows):
        indices, probs = targets[row]
        chosen = logits[k, torch.from_numpy(indices)]
        losses.append(-(torch.from_numpy(probs) * torch.log_softmax(chosen, 0)).sum())
    return torch.stack(losses)


def train(net, data: dict, rows: np.ndarray, epochs: int, batch: int = 128) -> None:
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        net.train()
        order = rng.permutation(rows)
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            logits, values = net(torch.from_numpy(data["features"][chunk]), torch.from_numpy(data["globals"][chunk]))
            weights = torch.from_numpy(data["policy_weight"][chunk])
            policy = (policy_cross_entropy(logits, data["targets"], chunk) * weights).sum() / weights.sum().clamp(min=1)
            value = ((values - torch.from_numpy(data["values"][chunk])) ** 2).mean()
            optimiser.zero_grad()
            (policy + value).backward()
            optimiser.step()


def held_out_figures(net, data: dict, rows: np.ndarray) -> tuple[float, float]:
    net.eval()
    with torch.no_grad():
        logits, values = net(torch.from_numpy(data["features"][rows]), torch.from_numpy(data["globals"][rows]))
        searched = data["searched"][rows]
        ce = policy_cross_entropy(logits, data["targets"], rows)[torch.from_numpy(searched)].mean().item()
        mse = ((values[:, 0] - torch.from_numpy(data["values"][rows][:, 0])) ** 2).mean().item()
    return ce, mse


def score_against_random(config_key: str, net, games: int, sims: int) -> float:
    evaluator = NetEvaluator(net, config_key)
    specs = [parse_player(f"search:{sims}:net"), parse_player("random")]
    results = list(play_match(config_key, specs, games, base_seed=3, load_model=lambda _: evaluator))
    return summarize([s.name for s in specs], results)[0].score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="hex8_2p")
    parser.add_argument("--games", type=int, default=60)
    parser.add_argument("--sims", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--eval-games", type=int, default=20)
    parser.add_argument("--value-blend", help="export.value_blend of the run (default: the setting's default)")
    parser.add_argument("--forced-policy-weight", help="export.forced_policy_weight of the run (default: the setting's)")
    parser.add_argument("--eval-sims", default="1,16",
                        help="Comma-separated simulation counts of the searched players (1: the policy alone).")
    args = parser.parse_args()
    torch.manual_seed(0)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        settings = {key: value for key, value in (("export.value_blend", args.value_blend),
                                                   ("export.forced_policy_weight", args.forced_policy_weight))
                    if value is not None}
        data = make_samples(args.config, args.games, args.sims, Path(tmp) / "home", settings)
    made = time.perf_counter() - began
    games = np.unique(data["game_ids"])
    held = set(np.random.default_rng(0).choice(games, size=max(1, len(games) // 5), replace=False).tolist())
    test_mask = np.isin(data["game_ids"], list(held))
    train_rows, test_rows = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    searched = data["searched"]
    print(f"{args.config}: {len(data['game_ids'])} samples from {len(games)} games ({searched.mean():.0%} searched) "
          f"in {made:.0f}s; {len(train_rows)} train, {len(test_rows)} held out ({len(held)} games)")
    uniform = np.mean([np.log(len(data["targets"][r][0])) for r in test_rows if searched[r]])
    mean_value = data["values"][train_rows][:, 0].mean()
    mean_mse = float(((data["values"][test_rows][:, 0] - mean_value) ** 2).mean())
    net, _ = new_net(args.config, args.preset)
    untrained, _ = new_net(args.config, args.preset)
    untrained.load_state_dict(net.state_dict())
    ce0, mse0 = held_out_figures(untrained, data, test_rows)
    began = time.perf_counter()
    train(net, data, train_rows, args.epochs)
    ce, mse = held_out_figures(net, data, test_rows)
    print(f"  trained {args.epochs} epochs ({args.preset}) in {time.perf_counter() - began:.0f}s")
    print(f"  policy cross-entropy (searched, held out): trained {ce:.3f}, untrained {ce0:.3f}, "
          f"uniform over legal {uniform:.3f} -> {'ok' if ce < uniform else 'MISSED'}")
    print(f"  value MSE (held out): trained {mse:.3f}, untrained {mse0:.3f}, mean predictor {mean_mse:.3f} "
          f"-> {'ok' if mse < mean_mse else 'MISSED'}")
    for sims in [int(s) for s in args.eval_sims.split(",")] if args.eval_games else []:
        trained_score = score_against_random(args.config, net.eval(), args.eval_games, sims)
        untrained_score = score_against_random(args.config, untrained.eval(), args.eval_games, sims)
        verdict = "ok" if trained_score >= untrained_score + 0.15 else "MISSED"
        print(f"  vs random at search:{sims}, {args.eval_games} games: trained {trained_score:.3f}, "
              f"untrained {untrained_score:.3f} -> {verdict} (target +0.15)", flush=True)


if __name__ == "__main__":
    main()
