"""Batches built in worker processes: the same as built in the training process, errors as themselves."""

from __future__ import annotations

import json
import numpy as np
import pytest
import torch

from ringrift_testing import iterate_batches, run_cli
from ringrift_cli.ai.encoding import ENCODER_VERSION, encoder_for
from ringrift_cli.ai.net import new_net
from ringrift_cli.ai.samples import ShardError, read_shard, write_shard
from ringrift_cli.ai.symmetry import transform_indices, transform_planes
from ringrift_cli.train.dataset import (TENSORS, ShardSource, exact_symmetries, load_shard, make_batch,
                                        plan_batches)
from ringrift_cli.train.loader import BatchLoader, default_workers
from ringrift_cli.train.loop import TrainSettings, train_network

POLICY_SIZE = encoder_for("hex8_2p").policy_size
SYMMETRIES = exact_symmetries("hex8_2p")


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Several small hex8_2p shards (export cut at 300 samples), so that batches cross shard boundaries."""
    import os

    home = tmp_path_factory.mktemp("loader-data")
    old = os.environ.get("RINGRIFT_HOME")
    os.environ["RINGRIFT_HOME"] = str(home)
    try:
        assert run_cli("init").exit_code == 0
        played = run_cli("selfplay", "hex8_2p", "--games", "8", "--sims", "4", "--seed", "4", "--model", "none",
                         "--procs", "1", "--json")
        assert played.exit_code == 0, played.output
        exported = run_cli("export", "hex8_2p", "--max-samples", "300", "--json")
        assert exported.exit_code == 0, exported.output
    finally:
        if old is not None:
            os.environ["RINGRIFT_HOME"] = old
    out = []
    for k, path in enumerate(sorted((home / "npz" / "hex8_2p").glob("*.npz"))):
        n = read_shard(path).samples
        out.append(ShardSource(k + 1, path, n, n - 7 * k))  # later shards give up their oldest samples
    assert len(out) >= 3
    return out


def as_arrays(batch) -> list[np.ndarray]:
    return [getattr(batch, name).numpy() for name in TENSORS]


def one_pass(sources, workers: int, validation: bool = False, seed: int | None = 3) -> list[list[np.ndarray]]:
    rng = None if seed is None else np.random.default_rng(seed)
    return [as_arrays(b) for b in iterate_batches(
        sources, validation=validation, batch_size=64, val_fraction=0.2, encoder_version=ENCODER_VERSION,
        policy_size=POLICY_SIZE, symmetries=SYMMETRIES if rng is not None else (), rng=rng, workers=workers)]


def test_worker_processes_build_the_batches_the_training_process_builds(shards):
    training = plan_batches(shards, validation=False, batch_size=64, val_fraction=0.2, symmetries=SYMMETRIES,
                            rng=np.random.default_rng(3))
    validation = plan_batches(shards, validation=True, batch_size=64, val_fraction=0.2)
    here = [one_pass(shards, 0, False, 3), one_pass(shards, 0, True, None)]
    with BatchLoader(shards, [training, validation], encoder_version=ENCODER_VERSION, policy_size=POLICY_SIZE,
                     symmetries=SYMMETRIES, workers=2) as loader:
        workers = [[as_arrays(b) for b in loader.next_pass()] for _ in range(2)]
    for side_here, side_workers in zip(here, workers):
        assert len(side_here) == len(side_workers) > 0
        for mine, theirs in zip(side_here, side_workers):
            for a, b in zip(mine, theirs):
                assert a.dtype == b.dtype and np.array_equal(a, b)
    assert len(here[0]) > len(shards)
    # Every sample of the window on exactly one side, once.
    assert sum(len(b[0]) for side in here for b in side) == sum(s.take for s in shards)


def test_a_batch_holds_each_rows_targets_mapped_by_its_drawn_symmetry(shards):
    source = shards[1]
    arrays = load_shard(source, ENCODER_VERSION, POLICY_SIZE)
    (plan, *_) = plan_batches([source], validation=False, batch_size=48, val_fraction=0.2, symmetries=SYMMETRIES,
                              rng=np.random.default_rng(8))
    assert len(set(plan.symmetry.tolist())) > 1
    batch = make_batch(arrays, plan.rows, SYMMETRIES, plan.symmetry)
    offsets = arrays["policy_offsets"]
    for i, (row, k) in enumerate(zip(plan.rows, plan.symmetry)):
        sym = SYMMETRIES[k]
        assert np.array_equal(batch.planes[i].numpy(), transform_planes(sym, arrays["features"][row]))
        mine = (batch.target_rows == i).numpy()
        indices = arrays["policy_indices"][offsets[row]:offsets[row + 1]]
        probs = arrays["policy_probs"][offsets[row]:offsets[row + 1]]
        assert np.array_equal(batch.target_indices[mine].numpy(), transform_indices(sym, indices))
        assert np.array_equal(batch.target_probs[mine].numpy(), probs)
        assert batch.target_top[i].item() == transform_indices(sym, indices)[int(np.argmax(probs))]
        assert np.array_equal(batch.values[i].numpy(), arrays["values"][row])
        assert batch.policy_weight[i].item() == arrays["policy_weight"][row]


def test_a_bad_shard_met_in_a_worker_is_raised_as_itself_naming_the_file(shards, tmp_path):
    shard = read_shard(shards[0].path)
    shard.arrays["features"][5, 0, 0, 0] = np.nan
    bad = tmp_path / "bad.npz"
    write_shard(bad, shard)
    sources = [shards[1], ShardSource(9, bad, shard.samples, shard.samples)]
    with pytest.raises(ShardError) as raised:
        one_pass(sources, 1, seed=None)
    assert str(bad) in str(raised.value) and "non-finite" in str(raised.value)
    assert "Traceback" not in str(raised.value) and len(str(raised.value).splitlines()) == 1


def test_one_loader_serves_pass_after_pass_in_each_pass_s_order(shards):
    """Runs of the next pass go out while this one is read, some passes are empty, and the last one
    is left unread (the loader closes with work still out)."""
    def plans(seed):
        if seed is None:
            return []
        return plan_batches(shards, validation=seed < 0, batch_size=64 if seed else 500, val_fraction=0.2,
                            symmetries=SYMMETRIES, rng=np.random.default_rng(seed) if seed > 0 else None)

    seeds = [1, 2, None, 1, -1, 0, 5]
    expected = [[as_arrays(b) for b in BatchLoader(shards, [plans(seed)], encoder_version=ENCODER_VERSION,
                                                   policy_size=POLICY_SIZE, symmetries=SYMMETRIES).next_pass()]
                for seed in seeds[:-1]]
    with BatchLoader(shards, (plans(seed) for seed in seeds), encoder_version=ENCODER_VERSION,
                     policy_size=POLICY_SIZE, symmetries=SYMMETRIES, workers=3) as loader:
        got = [[as_arrays(b) for b in loader.next_pass()] for _ in seeds[:-1]]
    assert [len(p) for p in got] == [len(p) for p in expected] and got[2] == []
    for mine, theirs in zip(got, expected):
        assert all(np.array_equal(a, b) for x, y in zip(mine, theirs) for a, b in zip(x, y))
    assert not all(np.array_equal(a, b) for x, y in zip(got[0], got[1]) for a, b in zip(x, y))


def test_a_pass_left_unfinished_closes_the_loader_and_its_workers(shards):
    plans = plan_batches(shards, validation=False, batch_size=32, val_fraction=0.2)
    loader = BatchLoader(shards, [plans, plans], encoder_version=ENCODER_VERSION, policy_size=POLICY_SIZE,
                         workers=2)
    batches = loader.next_pass()
    next(batches)
    processes = [builder.process for builder in loader.builders]
    batches.close()  # as when the training step raises
    assert all(not process.is_alive() for process in processes)
    with pytest.raises(RuntimeError, match="closed"):
        next(loader.next_pass())


def test_training_with_data_workers_gives_the_same_network(shards, tmp_path):
    settings = TrainSettings(epochs=2, batch_size=32, lr=3e-3, weight_decay=1e-4, warmup_fraction=0.1, grad_clip=1.0,
                             policy_weight=1.0, value_weight=1.0, patience=3, val_fraction=0.2, seed=4, device="cpu")
    nets = []
    for workers in (0, 2):
        torch.manual_seed(0)
        net, _ = new_net("hex8_2p", "tiny")
        outcome = train_network(net, shards, settings, encoder_version=ENCODER_VERSION, policy_size=POLICY_SIZE,
                                symmetries=SYMMETRIES, checkpoint=tmp_path / f"checkpoint-{workers}.pt",
                                data_workers=workers)
        assert outcome.epochs_run == 2
        nets.append((net.state_dict(), outcome.metrics))
    (first, metrics), (second, metrics_with_workers) = nets
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert metrics["val_policy_loss"] == metrics_with_workers["val_policy_loss"]


def test_auto_data_workers_are_none_on_a_cpu_and_bounded_elsewhere():
    assert default_workers(torch.device("cpu"), 16) == 0
    assert default_workers(torch.device("cuda"), 16) == 4
    assert default_workers(torch.device("cuda"), 2) == 2 and default_workers(torch.device("cuda"), 1) == 2


@pytest.mark.parametrize("value", ["-1", "65", "many", "2.5"])
def test_bad_data_workers_exit_2_with_one_line(home, value):
    result = run_cli("train", "hex8_2p", "--data-workers", value)
    assert result.exit_code == 2 and "data_workers" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_data_workers_travel_with_the_job(home):
    played = run_cli("selfplay", "hex8_2p", "--games", "2", "--sims", "2", "--seed", "1", "--model", "none", "--json")
    assert played.exit_code == 0 and run_cli("export", "hex8_2p").exit_code == 0
    trained = run_cli("train", "hex8_2p", "--preset", "tiny", "--epochs", "1", "--device", "cpu",
                      "--data-workers", "1", "--json")
    assert trained.exit_code == 0, trained.output
    job = json.loads(run_cli("queue", "show", str(json.loads(trained.stdout)["job_id"]), "--json").output)
    assert job["params"]["data_workers"] == 1
