"""Training throughput against bare forward+backward on the same batches already in memory.

    python benchmarks/train_bench.py [--config hex8_2p] [--games 24] [--shard-samples 1000] [--preset small]
                                     [--batch 256] [--rounds 3] [--device auto] [--workers 0,2] [--step-ms 15.5]

Makes a few thousand samples (heuristic selfplay, export) in a temporary
data root. Then, for each data worker count of ``--workers``, alternates
``--rounds`` times: one epoch through the real data path (shards streamed
from disk, by-game split, exact-symmetry augmentation, batching, in that
many worker processes) with the optimizer step, and one pass of the same
training step over the batches of another epoch held in memory. The data
pipeline's overhead is 1 - (pipeline samples/s) / (bare samples/s), medians
over the rounds; the target is under 10%.

Also printed for each worker count: how long the workers take to start
(once per training run), and the data path alone (batches built and
handed over, no step), and the training thread's own CPU time per batch
for getting it. ``--step-ms`` adds rows where the network step is replaced
by a stand-in that takes that long per batch: the overhead an accelerator
with that step time would see, measured on a machine without one. "busy"
keeps the training thread's CPU busy throughout, as a step bound by
launching its kernels does; "idle" sleeps, as a thread waiting on the
device does. A real step lies between the two.
"""

from __future__ import annotations

import argparse
import itertools
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
from ringrift_cli.train.dataset import ShardSource, exact_symmetries, plan_batches  # noqa: E402
from ringrift_cli.train.loader import BatchLoader  # noqa: E402
from ringrift_cli.train.loop import batch_losses, resolve_device  # noqa: E402

VAL_FRACTION = 0.15


def make_samples(config_key: str, games: int, shard_samples: int) -> list[ShardSource]:
    from typer.testing import CliRunner

    from ringrift_cli.cli.app import app

    home = Path(tempfile.mkdtemp(prefix="train-bench-"))
    os.environ["RINGRIFT_HOME"] = str(home)
    runner = CliRunner()
    for args in (["init"], ["selfplay", config_key, "--games", str(games), "--sims", "4", "--model", "none",
                            "--seed", "1", "--json"],
                 ["export", config_key, "--max-samples", str(shard_samples), "--json"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    sources = []
    for k, path in enumerate(sorted((home / "npz" / config_key).glob("*.npz"))):
        with np.load(path) as data:
            n = len(data["game_ids"])
        sources.append(ShardSource(k + 1, path, n, n))
    return sources


def network_step(net, optimizer, device):
    def step(batch) -> None:
        policy, value, _ = batch_losses(net, batch, device)
        optimizer.zero_grad(set_to_none=True)
        (policy + value).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
    return step


def stand_in_step(milliseconds: float, busy: bool):
    """Reads the batch, then for ``milliseconds`` keeps this thread's CPU busy (``busy``: an accelerator
    step bound by launching its kernels) or leaves it idle (an accelerator step bound by the device)."""
    def step(batch) -> None:
        started = time.perf_counter()
        float(batch.planes[0, 0, 0, 0]) + float(batch.target_probs[0])
        if not busy:
            time.sleep(max(0.0, milliseconds / 1000 - (time.perf_counter() - started)))
        while time.perf_counter() - started < milliseconds / 1000:
            pass
    return step


def rate(batches, step, device) -> float:
    started, samples = time.perf_counter(), 0
    for batch in batches:
        step(batch)
        samples += batch.size
    if device.type == "cuda":
        torch.cuda.synchronize()
    return samples / (time.perf_counter() - started)


def reading_cost(batches) -> float:
    """CPU seconds this thread spends per sample getting batches (reading them off the workers' sockets,
    or building them here), when it does nothing else."""
    started, samples = time.thread_time(), 0
    for batch in batches:
        samples += batch.size
    return (time.thread_time() - started) / max(samples, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="hex8_2p")
    parser.add_argument("--games", type=int, default=24)
    parser.add_argument("--shard-samples", type=int, default=1000,
                        help="most samples per shard: with several shards every epoch reads its samples from disk, "
                             "as a real window does")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", default="0,2", help="comma-separated data worker counts")
    parser.add_argument("--step-ms", type=float, default=None,
                        help="also measure with a stand-in step of this many ms (an accelerator's step time)")
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    device = resolve_device(args.device)
    sources = make_samples(args.config, args.games, args.shard_samples)
    encoder = encoder_for(args.config)
    symmetries = exact_symmetries(args.config)
    net, _ = new_net(args.config, args.preset)
    net.to(device).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    steps = {"network": network_step(net, optimizer, device)}
    if args.step_ms is not None:
        steps[f"stand-in {args.step_ms:g} ms, busy"] = stand_in_step(args.step_ms, busy=True)
        steps[f"stand-in {args.step_ms:g} ms, idle"] = stand_in_step(args.step_ms, busy=False)

    def plans(epoch: int):
        return plan_batches(sources, validation=False, batch_size=args.batch, val_fraction=VAL_FRACTION,
                            symmetries=symmetries, rng=np.random.default_rng(epoch))

    with BatchLoader(sources, [plans(1000)], encoder_version=ENCODER_VERSION, policy_size=encoder.policy_size,
                     symmetries=symmetries) as here:
        held = list(here.next_pass())  # the bare loop's batches, materialised once
    for batch in held[:2]:
        steps["network"](batch)  # warm-up
    samples = sum(batch.size for batch in held)
    print(f"{args.config} preset {args.preset} batch {args.batch} on {device}: {samples} training samples in "
          f"{len(held)} batches from {len(sources)} shards")
    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        started = time.perf_counter()
        # Pass after pass, as a training run makes them: the loader sends out the next pass's first
        # runs while the last ones of a pass are read.
        passes = (plans(epoch) for epoch in itertools.count())
        with BatchLoader(sources, passes, encoder_version=ENCODER_VERSION, policy_size=encoder.policy_size,
                         symmetries=symmetries, workers=workers, pin_memory=device.type == "cuda") as loader:
            first = rate(loader.next_pass(), lambda batch: None, device)  # starts the workers
            startup = time.perf_counter() - started
            alone = statistics.median(rate(loader.next_pass(), lambda batch: None, device)
                                      for epoch in range(args.rounds))
            cost = statistics.median(reading_cost(loader.next_pass()) for epoch in range(args.rounds))
            print(f"workers {workers}: started and a first pass in {startup:.2f} s ({first:,.0f} samples/s); "
                  f"data path alone {alone:,.0f} samples/s; the training thread's own CPU "
                  f"{cost * 1e6:.2f} us per sample ({cost * args.batch * 1e3:.2f} ms per batch of {args.batch})")
            for name, step in steps.items():
                pipeline, bare = [], []
                for epoch in range(args.rounds):
                    pipeline.append(rate(loader.next_pass(), step, device))
                    bare.append(rate(held, step, device))
                    print(f"  {name}, round {epoch + 1}: pipeline {pipeline[-1]:,.0f} samples/s, "
                          f"bare {bare[-1]:,.0f} samples/s")
                p, b = statistics.median(pipeline), statistics.median(bare)
                rows.append((name, workers, p, b, 1 - p / b))
    print("\n| step | data workers | pipeline samples/s | bare samples/s | data overhead |")
    print("|---|---|---|---|---|")
    for name, workers, p, b, overhead in rows:
        print(f"| {name} | {workers} | {p:,.0f} | {b:,.0f} | {overhead:.1%} "
              f"({'met' if overhead < 0.10 else 'NOT met'}: < 10%) |")


if __name__ == "__main__":
    main()
