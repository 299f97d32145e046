"""Training: a by-game stable split, streamed batches, lower validation loss, a registered candidate."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ringrift_testing import iterate_batches, run_cli
from ringrift_cli.ai.encoding import ENCODER_VERSION, encoder_for
from ringrift_cli.ai.net import load_model, new_net
from ringrift_cli.store.events import recent_events
from ringrift_cli.store.models import list_models
from ringrift_cli.train.dataset import ShardSource, choose_window, exact_symmetries, is_validation
from ringrift_cli.train.loop import batch_losses, evaluate, lr_factor


def cli_json(*args):
    result = run_cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def samples_home(tmp_path_factory):
    """A data root with a few thousand exported hex8_2p samples (heuristic selfplay, one search process
    so that the games and their ids, hence the split, are the same on every run)."""
    import os

    home = tmp_path_factory.mktemp("train-data")
    old = os.environ.get("RINGRIFT_HOME")
    os.environ["RINGRIFT_HOME"] = str(home)
    try:
        assert run_cli("init").exit_code == 0
        # 32 games at 16 simulations, about 3,900 samples: enough for the tiny network's held-out policy
        # loss to fall about 4% in 12 epochs (docs/benchmarks.md, "The fast training test").
        cli_json("selfplay", "hex8_2p", "--games", "32", "--sims", "16", "--seed", "3", "--model", "none", "--procs", "1")
        cli_json("export", "hex8_2p")
    finally:
        if old is not None:
            os.environ["RINGRIFT_HOME"] = old
    return home


def sources_of(home) -> list[ShardSource]:
    paths = sorted((home / "npz" / "hex8_2p").glob("*.npz"))
    out = []
    for k, path in enumerate(paths):
        with np.load(path) as data:
            n = len(data["game_ids"])
        out.append(ShardSource(k + 1, path, n, n))
    return out


def test_split_is_by_game_and_stable():
    ids = np.repeat(np.arange(200, dtype=np.int64) + (7 << 32), 30)
    side = is_validation(ids, 0.2)
    assert np.array_equal(side, is_validation(ids, 0.2))  # the same every run
    for game in np.unique(ids):  # a game's positions are all on one side
        assert len(set(side[ids == game])) == 1
    assert 0.1 < side.mean() < 0.3


def test_window_takes_the_newest_samples():
    window = choose_window([(1, "a", 100), (2, "b", 50), (3, "c", 30)], 60)
    assert [(s.artifact_id, s.take) for s in window] == [(3, 30), (2, 30)]


def test_lr_warms_up_then_decays():
    assert lr_factor(0, 100, 10) == pytest.approx(0.1) and lr_factor(9, 100, 10) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10) < lr_factor(20, 100, 10) and lr_factor(100, 100, 10) == pytest.approx(0.01)


def test_batches_stream_both_sides_without_overlap(samples_home):
    sources = sources_of(samples_home)
    common = dict(batch_size=64, val_fraction=0.25, encoder_version=ENCODER_VERSION,
                  policy_size=encoder_for("hex8_2p").policy_size)
    train = [b for b in iterate_batches(sources, validation=False, **common)]
    val = [b for b in iterate_batches(sources, validation=True, **common)]
    total = sum(s.samples for s in sources)
    assert sum(b.size for b in train) + sum(b.size for b in val) == total and val
    # Augmented batches keep every target a distribution over valid indices.
    rng = np.random.default_rng(0)
    syms = exact_symmetries("hex8_2p")
    assert len(syms) == 4  # hex8: only 4 of the 12 symmetries commute with its rules
    for batch in iterate_batches(sources, validation=False, symmetries=syms, rng=rng, **common):
        sums = np.bincount(batch.target_rows.numpy(), weights=batch.target_probs.numpy(), minlength=batch.size)
        assert np.allclose(sums, 1, atol=1e-3)
        assert batch.target_indices.max().item() < common["policy_size"]


def test_policy_weight_scales_the_policy_loss(samples_home):
    sources = sources_of(samples_home)
    batch = next(iterate_batches(sources, validation=False, batch_size=32, val_fraction=0.2,
                                 encoder_version=ENCODER_VERSION, policy_size=encoder_for("hex8_2p").policy_size))
    net, _ = new_net("hex8_2p", "tiny")
    net.eval()
    full, _, _ = batch_losses(net, batch, torch.device("cpu"))
    batch.policy_weight[: batch.size // 2] = 0.0  # unsearched moves: their targets carry no weight
    half, _, _ = batch_losses(net, batch, torch.device("cpu"))
    assert full.item() > 0 and half.item() != pytest.approx(full.item())


class FixedLogits(torch.nn.Module):
    """A stand-in network whose outputs are set by the test."""

    def __init__(self, logits: torch.Tensor, seats: int):
        super().__init__()
        self.logits, self.seats = logits, seats

    def forward(self, planes, globals_):
        return self.logits.clone(), torch.zeros(len(planes), self.seats)


def test_the_policy_loss_ranks_the_legal_moves_alone(samples_home):
    """Logits on indices outside a sample's target (its legal moves) change neither the loss nor top-1:
    the softmax runs over the legal moves, as the search's priors do."""
    sources = sources_of(samples_home)
    size = encoder_for("hex8_2p").policy_size
    batch = next(iterate_batches(sources, validation=False, batch_size=32, val_fraction=0.2,
                                 encoder_version=ENCODER_VERSION, policy_size=size))
    rng = np.random.default_rng(1)
    logits = torch.from_numpy(rng.normal(size=(batch.size, size)).astype(np.float32))
    seats = batch.values.shape[1]
    policy, _, top1 = batch_losses(FixedLogits(logits, seats), batch, torch.device("cpu"))
    outside = torch.ones(batch.size, size, dtype=torch.bool)
    outside[batch.target_rows, batch.target_indices] = False
    louder = logits.masked_fill(outside, 50.0)  # illegal indices far above every legal one
    policy_louder, _, top1_louder = batch_losses(FixedLogits(louder, seats), batch, torch.device("cpu"))
    assert policy_louder.item() == pytest.approx(policy.item(), rel=1e-6) and top1_louder.item() == top1.item()
    # The expected figure, by hand for each sample: -sum p log softmax over its own indices.
    by_hand, weights = 0.0, 0.0
    for row in range(batch.size):
        mine = batch.target_rows == row
        chosen = logits[row, batch.target_indices[mine]].double()
        logp = chosen - torch.logsumexp(chosen, dim=0)
        by_hand += batch.policy_weight[row].item() * -(batch.target_probs[mine].double() * logp).sum().item()
        weights += batch.policy_weight[row].item()
    assert policy.item() == pytest.approx(by_hand / weights, rel=1e-5)


def test_training_lowers_validation_loss_and_registers_a_candidate(samples_home, monkeypatch):
    monkeypatch.setenv("RINGRIFT_HOME", str(samples_home))
    result = cli_json("train", "hex8_2p", "--preset", "tiny", "--epochs", "12", "--from", "scratch", "--seed", "1",
                      "--lr", "0.003", "--batch", "64", "--device", "cpu")
    path = samples_home / result["path"]
    assert path.name == result["model_id"][:16] + ".pt"
    net, info = load_model(path, config_key="hex8_2p")  # weights_only=True inside
    encoder = encoder_for("hex8_2p")
    torch.manual_seed(1)
    fresh, _ = new_net("hex8_2p", "tiny")
    sources = sources_of(samples_home)
    cpu = torch.device("cpu")

    def losses(model, validation):
        batches = iterate_batches(sources, validation=validation, batch_size=64, val_fraction=0.15,
                                  encoder_version=ENCODER_VERSION, policy_size=encoder.policy_size)
        return evaluate(model, batches, cpu)

    trained, untrained = losses(net, True), losses(fresh, True)
    assert trained.samples == untrained.samples > 0
    # On held-out games: the policy (ranked over the legal moves, where the untrained network starts near
    # uniform) and the objective training minimises both fall. The held-out value loss alone is not asked
    # to: outcomes of ~27 training games do not teach a value that carries to other games (measured in
    # docs/benchmarks.md, "The fast training test"); benchmarks/learnability.py measures it on 100 games.
    assert trained.policy < 0.97 * untrained.policy
    assert trained.policy + trained.value < untrained.policy + untrained.value
    # On the games it trained on, both heads learned.
    fitted, start = losses(net, False), losses(fresh, False)
    assert fitted.policy < 0.95 * start.policy and fitted.value < 0.8 * start.value
    from ringrift_cli.context import open_context

    with open_context(samples_home) as ctx:
        (model,) = [m for m in list_models(ctx.store, "hex8_2p") if m.id == result["model_id"]]
        assert model.status == "candidate" and model.encoder_version == ENCODER_VERSION
        assert model.lineage["samples"] == sum(s["used"] for s in model.lineage["shards"]) > 0
        assert model.lineage["hyperparameters"]["lr"] == 0.003 and model.lineage["parent_id"] is None
        assert set(model.metrics) >= {"val_policy_loss", "val_value_loss", "val_top1", "train_policy_loss"}
        assert [e.payload["model_id"] for e in recent_events(ctx.store, 5, "model_trained")] == [model.id]
    assert info.lineage["parent_id"] is None and info.lineage["samples"] == model.lineage["samples"]


@pytest.mark.parametrize("args, message", [
    (["--lr", "nan"], "lr"), (["--epochs", "0"], "epochs"), (["--preset", "huge"], "preset"),
    (["--from", "abc123"], "no model"),
])
def test_bad_train_input_exits_2_with_one_line(home, args, message):
    result = run_cli("train", "hex8_2p", *args)
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1


def test_a_corrupt_npz_shard_is_quarantined_and_named_and_left_out_next_time(home):
    import json

    cli_json("selfplay", "hex8_2p", "--games", "4", "--sims", "4", "--seed", "1", "--model", "none")
    first = cli_json("export", "hex8_2p")["shards"][0]["path"]
    cli_json("selfplay", "hex8_2p", "--games", "4", "--sims", "4", "--seed", "2", "--model", "none")
    second = cli_json("export", "hex8_2p")["shards"][0]["path"]
    data = bytearray((home / first).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (home / first).write_bytes(bytes(data))
    refused = run_cli("train", "hex8_2p", "--preset", "tiny", "--epochs", "1")
    assert refused.exit_code != 0 and first in refused.output and "quarantined" in refused.output
    trained = run_cli("train", "hex8_2p", "--preset", "tiny", "--epochs", "1", "--json")
    assert trained.exit_code == 0, trained.output
    model = cli_json("models", "show", json.loads(trained.stdout)["model_id"])
    assert [shard["path"] for shard in model["lineage"]["shards"]] == [second]
