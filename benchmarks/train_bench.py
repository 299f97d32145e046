"""Training throughput against bare forward+backward on the same batches already in memory.

    python benchmarks/train_bench.py [--config hex8_2p] [--games 24] [--preset small] [--batch 256]
                                     [--rounds 3] [--device cpu]

Makes a few thousand samples (heuristic selfplay, export) in a temporary
data root, then alternates, ``--rounds`` times: one epoch through the real
data path (shards streamed from disk, by-game split, exact-symmetry
augmentation, batching) with the optimizer step, and one pass of the same
training step over the batches of a previous epoch held in memory. The data
pipeline's overhead is 1 - (pipeline samples/s) / (bare samples/s), medians
over the rounds; the target is under 10%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ringrift_cli.ai.encoding import ENCODER_VERSION, encoder_for  # noqa: E402
from ringrift_cli.ai.net import new_net  # noqa: E402
from ringrift_cli.train.dataset import ShardSource, exact_symmetries, iterate_batches  # noqa: E402
from ringrift_cli.train.loop import batch_losses, resolve_device  # noqa: E402


def make_samples(config_key: str, games: int) -> list[ShardSource]:
    from typer.testing import CliRunner

    from ringrift_cli.cli.app import app

    home = Path(tempfile.mkdtemp(prefix="train-bench-"))
    os.environ["RINGRIFT_HOME"] = str(home)
    runner = CliRunner()
    for args in (["init"], ["selfplay", config_key, "--games", str(games), "--sims", "4", "--model", "none",
                            "--seed", "1", "--json"], ["export", config_key, "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    sources = []
    for k, path in enumerate(sorted((home / "npz" / config_key).glob("*.npz"))):
        with np.load(path) as data:
            n = len(data["game_ids"])
        sources.append(ShardSource(k + 1, path, n, n))
    return sources


def step(net, optimizer, batch, device) -> None:
    policy, value, _ = batch_losses(net, batch, device)
    optimizer.zero_grad(set_to_none=True)
    (policy + value).backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="hex8_2p")
    parser.add_argument("--games", type=int, default=24)
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    device = resolve_device(args.device)
    sources = make_samples(args.config, args.games)
    encoder = encoder_for(args.config)
    symmetries = exact_symmetries(args.config)
    net, _ = new_net(args.config, args.preset)
    net.to(device).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)

    def batches(epoch: int):
        return iterate_batches(sources, validation=False, batch_size=args.batch, val_fraction=0.15,
                               encoder_version=ENCODER_VERSION, policy_size=encoder.policy_size,
                               symmetries=symmetries, rng=np.random.default_rng(epoch))

    held = list(batches(1000))  # the bare loop's batches, materialised once
    for batch in held[:2]:
        step(net, optimizer, batch, device)  # warm-up
    pipeline, bare = [], []
    for epoch in range(args.rounds):
        started, samples = time.perf_counter(), 0
        for batch in batches(epoch):
            step(net, optimizer, batch, device)
            samples += batch.size
        if device.type == "cuda":
            torch.cuda.synchronize()
        pipeline.append(samples / (time.perf_counter() - started))
        started, samples = time.perf_counter(), 0
        for batch in held:
            step(net, optimizer, batch, device)
            samples += batch.size
        if device.type == "cuda":
            torch.cuda.synchronize()
        bare.append(samples / (time.perf_counter() - started))
        print(f"round {epoch + 1}: pipeline {pipeline[-1]:.0f} samples/s, bare {bare[-1]:.0f} samples/s")
    p, b = statistics.median(pipeline), statistics.median(bare)
    overhead = 1 - p / b
    print(f"{args.config} preset {args.preset} batch {args.batch} on {device}: {sum(s.take for s in sources)} samples, "
          f"{len(held)} batches")
    print(f"pipeline {p:.0f} samples/s, bare forward+backward {b:.0f} samples/s, data overhead {overhead:.1%} "
          f"(target < 10%: {'met' if overhead < 0.10 else 'NOT met'})")


if __name__ == "__main__":
    main()
