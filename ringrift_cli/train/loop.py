"""The training loop: sparse policy cross-entropy plus per-seat value loss, AdamW, warm-up then
cosine decay, gradient clipping, bf16 autocast on CUDA, early stopping on validation loss, and a
checkpoint after every epoch (temporary file, then rename) from which a killed run resumes."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch

from ..files import atomic_path
from .dataset import Batch, BatchPlan, ShardSource, count_side, plan_batches
from .loader import BatchLoader

CHECKPOINT_VERSION = 1
LR_FLOOR = 0.01  # the cosine decays to this fraction of the peak learning rate


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_fraction: float
    grad_clip: float
    policy_weight: float
    value_weight: float
    patience: int
    val_fraction: float
    seed: int
    device: str


@dataclass
class Losses:
    """Sums over samples, turned into means by ``means``."""

    policy: float = 0.0
    value: float = 0.0
    top1: float = 0.0
    samples: int = 0

    def add(self, policy: float, value: float, top1: float, samples: int) -> None:
        self.policy += policy * samples
        self.value += value * samples
        self.top1 += top1 * samples
        self.samples += samples

    def means(self, prefix: str) -> dict:
        n = max(self.samples, 1)
        return {f"{prefix}_policy_loss": self.policy / n, f"{prefix}_value_loss": self.value / n,
                f"{prefix}_top1": self.top1 / n, f"{prefix}_samples": self.samples}


@dataclass
class TrainOutcome:
    metrics: dict  # of the epoch whose weights are kept (lowest validation loss)
    history: list[dict] = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False
    resumed_from_epoch: int = 0


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to LR_FLOOR at ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(total - warmup, 1))
    return LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))


def batch_losses(net, batch: Batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(policy cross-entropy, value MSE, top-1 agreement), each a per-sample mean."""
    planes = batch.planes.to(device, non_blocking=True)
    globals_ = batch.globals.to(device, non_blocking=True)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        logits, values = net(planes, globals_)
    rows = batch.target_rows.to(device, non_blocking=True)
    indices = batch.target_indices.to(device, non_blocking=True)
    probs = batch.target_probs.to(device, non_blocking=True)
    # The softmax runs over each sample's target indices, its legal moves, as the search's priors
    # do: over every policy index, the loss would mostly teach which indices are legal, and
    # ranking the legal moves is what the search needs from the network.
    legal = torch.full_like(logits, float("-inf"), dtype=torch.float32)
    legal[rows, indices] = 0.0
    logits = logits.float() + legal
    logp = torch.log_softmax(logits, dim=1)
    per_sample = torch.zeros(batch.size, device=device).index_add_(0, rows, -probs * logp[rows, indices])
    weight = batch.policy_weight.to(device, non_blocking=True)
    policy = (per_sample * weight).sum() / weight.sum().clamp_min(1e-8)
    value = ((values.float() - batch.values.to(device, non_blocking=True)) ** 2).mean()
    top1 = (logits.argmax(dim=1) == batch.target_top.to(device, non_blocking=True)).float().mean()
    return policy, value, top1


def evaluate(net, batches: Iterable[Batch], device) -> Losses:
    """Summed losses of ``net`` on ``batches`` (for validation: the held-out games, unaugmented)."""
    net.eval()
    totals = Losses()
    with torch.no_grad():
        for batch in batches:
            policy, value, top1 = batch_losses(net, batch, device)
            totals.add(policy.item(), value.item(), top1.item(), batch.size)
    return totals


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train_network(net, sources: list[ShardSource], settings: TrainSettings, *, encoder_version: int,
                  policy_size: int, symmetries: tuple, checkpoint: Path, data_workers: int = 0,
                  progress: Callable[[int, int, str], None] = lambda done, total, detail: None,
                  check: Callable[[], None] = lambda: None) -> TrainOutcome:
    """Train ``net`` in place (it ends holding the best-validation weights) and return the figures.

    ``checkpoint`` is written after every epoch and read at the start: a run killed at any
    moment resumes from its last finished epoch. ``check`` is called between batches and may
    raise to stop (a lost claim). ``data_workers`` processes build the batches ahead of the step
    (the same batches as with none)."""
    device = resolve_device(settings.device)
    net.to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    train_samples = count_side(sources, False, settings.val_fraction)
    steps_per_epoch = max(1, math.ceil(train_samples / settings.batch_size))
    total_steps = steps_per_epoch * settings.epochs
    warmup = int(settings.warmup_fraction * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, warmup))
    state = load_checkpoint(checkpoint, net, optimizer, scheduler, settings)
    outcome = TrainOutcome(metrics=state["best_metrics"], history=state["history"],
                           epochs_run=state["epoch"], resumed_from_epoch=state["epoch"])
    best_state = state["best_state"]
    passes = epoch_passes(sources, settings, symmetries, state["epoch"])
    with BatchLoader(sources, passes, encoder_version=encoder_version, policy_size=policy_size,
                     symmetries=symmetries, workers=data_workers, pin_memory=device.type == "cuda") as loader:
        for epoch in range(state["epoch"], settings.epochs):
            if state["bad_epochs"] >= settings.patience:
                outcome.stopped_early = True
                break
            net.train()
            totals, started = Losses(), time.monotonic()
            for batch in loader.next_pass():
                check()
                policy, value, top1 = batch_losses(net, batch, device)
                loss = settings.policy_weight * policy + settings.value_weight * value
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), settings.grad_clip)
                optimizer.step()
                scheduler.step()
                totals.add(policy.item(), value.item(), top1.item(), batch.size)
                rate = totals.samples / max(time.monotonic() - started, 1e-9)
                progress(epoch * train_samples + totals.samples, settings.epochs * train_samples,
                         f"epoch {epoch + 1}/{settings.epochs}, {rate:.0f} samples/s, "
                         f"policy {totals.policy / totals.samples:.3f}, value {totals.value / totals.samples:.3f}")
            val = evaluate(net, loader.next_pass(), device)
            figures = {"epoch": epoch + 1, **totals.means("train"), **val.means("val"),
                       "samples_per_s": totals.samples / max(time.monotonic() - started, 1e-9)}
            val_loss = (settings.policy_weight * figures["val_policy_loss"] + settings.value_weight *
                        figures["val_value_loss"]) if val.samples else None
            outcome.history.append(figures)
            if val_loss is None or state["best_val"] is None or val_loss < state["best_val"]:
                state["best_val"], state["bad_epochs"] = val_loss, 0
                best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
                outcome.metrics = figures
            else:
                state["bad_epochs"] += 1
            state["epoch"] = epoch + 1
            outcome.epochs_run = epoch + 1
            save_checkpoint(checkpoint, net, optimizer, scheduler, settings, state, best_state, outcome)
    if best_state is not None:
        net.load_state_dict(best_state)
    net.to("cpu").eval()
    return outcome


def epoch_passes(sources, settings: TrainSettings, symmetries: tuple, first_epoch: int) -> Iterator[list[BatchPlan]]:
    """The plans of every pass a run makes, in order: each epoch's training pass (shuffled and
    augmented, seeded by the epoch, so a resumed epoch replays the same order), then its validation
    pass over the held-out games."""
    split = dict(batch_size=settings.batch_size, val_fraction=settings.val_fraction)
    for epoch in range(first_epoch, settings.epochs):
        yield plan_batches(sources, validation=False, symmetries=symmetries,
                           rng=np.random.default_rng([settings.seed, epoch]), **split)
        yield plan_batches(sources, validation=True, **split)


def save_checkpoint(path: Path, net, optimizer, scheduler, settings, state, best_state, outcome) -> None:
    payload = {
        "version": CHECKPOINT_VERSION, "settings": asdict(settings), "epoch": state["epoch"],
        "best_val": state["best_val"], "bad_epochs": state["bad_epochs"],
        "net": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "best_state": best_state, "best_metrics": outcome.metrics,
        "history": outcome.history,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path, net, optimizer, scheduler, settings: TrainSettings) -> dict:
    """Restore a run from ``path`` if it exists and was made with the same settings; else a fresh state."""
    fresh = {"epoch": 0, "best_val": None, "bad_epochs": 0, "best_state": None, "best_metrics": {}, "history": []}
    if not path.exists():
        return fresh
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a checkpoint is only ever renamed into place whole; anything else is not ours
        return fresh
    if payload.get("version") != CHECKPOINT_VERSION or payload.get("settings") != asdict(settings):
        return fresh
    net.load_state_dict(payload["net"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    fresh.update({key: payload[key] for key in ("epoch", "best_val", "bad_epochs", "best_state", "history")})
    fresh["best_metrics"] = payload["best_metrics"]
    return fresh
