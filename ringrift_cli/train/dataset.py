"""Training samples streamed from NPZ shards, split by game, augmented by exact symmetries.

Memory stays bounded by one shard at a time (export caps a shard's size):
an epoch visits the window's shards in a shuffled order and each shard's
samples in a shuffled order, so the full window is never concatenated.

The validation split is by game and stable: a game goes to validation when a
hash of its key falls below ``val_fraction``, the same in every run and on
every machine, so no game's positions sit on both sides and a model's
validation games stay unseen by its descendants too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..ai.samples import read_shard


@dataclass(frozen=True)
class ShardSource:
    """One registered NPZ shard, and how many of its newest samples the window takes."""

    artifact_id: int
    path: Path
    samples: int  # samples in the shard
    take: int  # the newest ``take`` samples are used


@dataclass
class Batch:
    planes: np.ndarray  # float32 B,C,H,W
    globals: np.ndarray  # float32 B,G
    target_rows: np.ndarray  # int64 K: the sample of each sparse policy target
    target_indices: np.ndarray  # int64 K
    target_probs: np.ndarray  # float32 K
    values: np.ndarray  # float32 B,S
    policy_weight: np.ndarray  # float32 B (1 unless the shard says otherwise)
    target_top: np.ndarray  # int64 B: each sample's most visited policy index (for top-1 agreement)

    @property
    def size(self) -> int:
        return len(self.planes)


def choose_window(shards: list[tuple[int, Path, int]], window: int) -> list[ShardSource]:
    """The newest ``window`` samples: shards newest first (by artifact id), the oldest one cut."""
    chosen, left = [], window
    for artifact_id, path, samples in sorted(shards, key=lambda s: s[0], reverse=True):
        if left <= 0:
            break
        take = min(samples, left)
        chosen.append(ShardSource(artifact_id, path, samples, take))
        left -= take
    return chosen


def is_validation(game_ids: np.ndarray, val_fraction: float) -> np.ndarray:
    """Stable by-game split: a multiplicative hash of the game key, compared with the fraction."""
    mixed = (game_ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)
    return (mixed.astype(np.float64) / float(1 << 53)) < val_fraction


@dataclass
class ShardSamples:
    """The part of one shard an epoch uses, loaded."""

    arrays: dict
    rows: np.ndarray  # the sample rows of this side of the split


def load_side(source: ShardSource, validation: bool, val_fraction: float, encoder_version: int,
              policy_size: int) -> ShardSamples:
    shard = read_shard(source.path, encoder_version=encoder_version, policy_size=policy_size)
    rows = np.arange(source.samples - source.take, source.samples)
    side = is_validation(shard.arrays["game_ids"][rows], val_fraction)
    # read_shard already validated every array, policy_weight included.
    return ShardSamples(dict(shard.arrays), rows[side] if validation else rows[~side])


def make_batch(samples: ShardSamples, rows: np.ndarray, symmetries: tuple, rng: np.random.Generator | None) -> Batch:
    """Gather ``rows`` of a shard into a batch; with ``rng``, each sample is mapped through one of
    ``symmetries`` (planes and policy indices; globals and values do not move)."""
    from ..ai.symmetry import transform_indices, transform_planes

    a = samples.arrays
    planes = a["features"][rows].copy()
    offsets = a["policy_offsets"]
    starts, ends = offsets[rows], offsets[rows + 1]
    counts = ends - starts
    target_rows = np.repeat(np.arange(len(rows)), counts)
    flat = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)]) if len(rows) else np.zeros(0, np.int64)
    indices = a["policy_indices"][flat].astype(np.int64)
    if rng is not None and len(symmetries) > 1:
        choice = rng.integers(len(symmetries), size=len(rows))
        for k, sym in enumerate(symmetries):
            picked = np.flatnonzero(choice == k)
            if k == 0 or not len(picked):
                continue  # symmetries[0] is the identity
            planes[picked] = transform_planes(sym, planes[picked])
            mask = np.isin(target_rows, picked)
            indices[mask] = transform_indices(sym, indices[mask])
    probs = a["policy_probs"][flat]
    weight = a["policy_weight"][rows].astype(np.float32) if "policy_weight" in a else np.ones(len(rows), np.float32)
    order = np.lexsort((-probs, target_rows))  # by sample, most probable target first
    top = indices[order][np.searchsorted(target_rows[order], np.arange(len(rows)))]
    return Batch(planes, a["globals"][rows], target_rows, indices, probs, a["values"][rows], weight, top)


def iterate_batches(sources: list[ShardSource], *, validation: bool, batch_size: int, val_fraction: float,
                    encoder_version: int, policy_size: int, symmetries: tuple = (),
                    rng: np.random.Generator | None = None) -> Iterator[Batch]:
    """Batches of one side of the split, one shard in memory at a time. With ``rng``: shards and
    samples shuffled and symmetries applied; without: in stored order, unaugmented."""
    order = list(sources)
    if rng is not None:
        order = [order[i] for i in rng.permutation(len(order))]
    for source in order:
        samples = load_side(source, validation, val_fraction, encoder_version, policy_size)
        rows = samples.rows if rng is None else rng.permutation(samples.rows)
        for start in range(0, len(rows), batch_size):
            yield make_batch(samples, rows[start:start + batch_size], symmetries, rng)


def count_side(sources: list[ShardSource], validation: bool, val_fraction: float) -> int:
    """Samples on one side of the split (reads only the game ids)."""
    total = 0
    for source in sources:
        with np.load(source.path, allow_pickle=False) as data:
            ids = data["game_ids"][source.samples - source.take:]
        side = is_validation(ids, val_fraction)
        total += int(side.sum() if validation else (~side).sum())
    return total


def exact_symmetries(config_key: str) -> tuple:
    """The board's symmetries that commute with every rule (the identity first)."""
    from ..ai.symmetry import symmetries

    return tuple(sym for sym in symmetries(config_key) if sym.exact)
