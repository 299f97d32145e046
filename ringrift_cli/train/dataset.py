"""Training samples streamed from NPZ shards, split by game, augmented by exact symmetries.

Memory stays bounded by one shard at a time in each process that builds
batches (export caps a shard's size): an epoch visits the window's shards in
a shuffled order and each shard's samples in a shuffled order, so the full
window is never concatenated. An epoch is planned first (``plan_batches``:
every random draw) and built after (``make_batch``), so that the building
can run in worker processes (``loader``) with the same result.

The validation split is by game and stable: a game goes to validation when a
hash of its key falls below ``val_fraction``, the same in every run and on
every machine, so no game's positions sit on both sides and a model's
validation games stay unseen by its descendants too.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from ..ai.samples import ShardError, read_shard


@dataclass(frozen=True)
class ShardSource:
    """One registered NPZ shard, and how many of its newest samples the window takes."""

    artifact_id: int
    path: Path
    samples: int  # samples in the shard
    take: int  # the newest ``take`` samples are used


@dataclass
class Batch:
    """Training samples as tensors on the host. The tensors are views of one buffer, so that a batch
    crosses from a worker process in one write and one read (``loader``)."""

    planes: torch.Tensor  # float32 B,C,H,W
    globals: torch.Tensor  # float32 B,G
    target_rows: torch.Tensor  # int64 K: the sample of each sparse policy target
    target_indices: torch.Tensor  # int64 K
    target_probs: torch.Tensor  # float32 K
    values: torch.Tensor  # float32 B,S
    policy_weight: torch.Tensor  # float32 B (1 unless the shard says otherwise)
    target_top: torch.Tensor  # int64 B: each sample's most visited policy index (for top-1 agreement)
    buffer: torch.Tensor = field(repr=False)  # uint8: the memory every tensor above is a view of
    layout: tuple = field(repr=False)  # (dtype, shape, byte offset) of each tensor in the buffer

    @property
    def size(self) -> int:
        return len(self.planes)

    def pin_memory(self) -> "Batch":
        """Page-locked, so the copy to an accelerator does not block (the loader calls this)."""
        return batch_in_buffer(self.buffer.pin_memory(), self.layout)


TENSORS = tuple(f.name for f in fields(Batch) if f.name not in ("buffer", "layout"))  # in pack_batch's order
TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.int64): torch.int64}


def pack_batch(arrays: list[np.ndarray]) -> Batch:
    """A batch of ``arrays`` (in ``TENSORS`` order), copied into one buffer at 8-byte aligned offsets."""
    layout, size = [], 0
    for array in arrays:
        layout.append((TORCH_DTYPES[array.dtype], array.shape, size))
        size += -(-array.nbytes // 8) * 8
    buffer = np.empty(size, np.uint8)
    for array, (_, _, offset) in zip(arrays, layout):
        buffer[offset:offset + array.nbytes] = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return batch_in_buffer(torch.from_numpy(buffer), tuple(layout))


def batch_in_buffer(buffer: torch.Tensor, layout: tuple) -> Batch:
    views = []
    for dtype, shape, offset in layout:
        nbytes = math.prod(shape) * dtype.itemsize
        views.append(buffer[offset:offset + nbytes].view(dtype).view(shape))
    return Batch(*views, buffer=buffer, layout=layout)


@dataclass(frozen=True)
class BatchPlan:
    """Which samples make one batch: rows of one shard, and each row's symmetry (None: unaugmented)."""

    shard: int  # index into the epoch's sources
    rows: np.ndarray
    symmetry: np.ndarray | None


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


def side_rows(source: ShardSource, validation: bool, val_fraction: float) -> np.ndarray:
    """The window's rows of one shard on one side of the split (reads only the game ids)."""
    try:
        with np.load(source.path, allow_pickle=False) as data:
            ids = data["game_ids"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ShardError(f"{source.path}: cannot read NPZ shard ({exc})") from None
    if len(ids) < source.samples:
        raise ShardError(f"{source.path}: holds {len(ids)} samples, its record says {source.samples}")
    rows = np.arange(source.samples - source.take, source.samples)
    side = is_validation(ids[rows], val_fraction)
    return rows[side] if validation else rows[~side]


def count_side(sources: list[ShardSource], validation: bool, val_fraction: float) -> int:
    """Samples on one side of the split."""
    return sum(len(side_rows(source, validation, val_fraction)) for source in sources)


def plan_batches(sources: list[ShardSource], *, validation: bool, batch_size: int, val_fraction: float,
                 symmetries: tuple = (), rng: np.random.Generator | None = None) -> list[BatchPlan]:
    """One pass over one side of the split, batch by batch, a shard at a time. With ``rng``: shards
    and rows shuffled and a symmetry drawn for each row; without: in stored order, unaugmented.

    Planning is apart from building so that worker processes can build the batches of one plan in
    any order and the result is the same: the random draws all happen here."""
    order = list(range(len(sources)))
    if rng is not None:
        order = [order[i] for i in rng.permutation(len(order))]
    plans = []
    for shard in order:
        rows = side_rows(sources[shard], validation, val_fraction)
        if rng is not None:
            rows = rng.permutation(rows)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            drawn = rng is not None and len(symmetries) > 1
            plans.append(BatchPlan(shard, chunk, rng.integers(len(symmetries), size=len(chunk)) if drawn else None))
    return plans


def load_shard(source: ShardSource, encoder_version: int, policy_size: int) -> dict[str, np.ndarray]:
    """A shard's arrays, every one validated (ShardError naming the file otherwise)."""
    return read_shard(source.path, encoder_version=encoder_version, policy_size=policy_size).arrays


def make_batch(arrays: dict[str, np.ndarray], rows: np.ndarray, symmetries: tuple,
               symmetry: np.ndarray | None) -> Batch:
    """Gather ``rows`` of a shard into a batch; with ``symmetry``, row i is mapped through
    ``symmetries[symmetry[i]]`` (planes and policy indices; globals and values do not move)."""
    from ..ai.symmetry import transform_indices, transform_planes

    planes = arrays["features"][rows]  # fancy indexing copies
    starts = arrays["policy_offsets"][rows]
    counts = arrays["policy_offsets"][rows + 1] - starts
    firsts = np.cumsum(counts) - counts  # where each row's targets begin in the batch
    target_rows = np.repeat(np.arange(len(rows)), counts)
    flat = np.arange(int(counts.sum())) + np.repeat(starts - firsts, counts)
    indices = arrays["policy_indices"][flat].astype(np.int64)
    probs = arrays["policy_probs"][flat]
    if symmetry is not None:
        per_target = symmetry[target_rows]
        for k in range(1, len(symmetries)):  # symmetries[0] is the identity
            picked = np.flatnonzero(symmetry == k)
            if len(picked):
                planes[picked] = transform_planes(symmetries[k], planes[picked])
                moved = per_target == k
                indices[moved] = transform_indices(symmetries[k], indices[moved])
    # Each row's most probable target, the first of equals: every row has at least one target.
    is_top = probs == np.maximum.reduceat(probs, firsts)[target_rows] if len(rows) else np.zeros(0, bool)
    tops = np.flatnonzero(is_top)
    first_top = tops[np.r_[True, target_rows[tops][1:] != target_rows[tops][:-1]]] if len(tops) else tops
    return pack_batch([planes, arrays["globals"][rows], target_rows, indices, probs, arrays["values"][rows],
                       arrays["policy_weight"][rows], indices[first_top]])


def exact_symmetries(config_key: str) -> tuple:
    """The board's symmetries that commute with every rule (the identity first)."""
    from ..ai.symmetry import symmetries

    return tuple(sym for sym in symmetries(config_key) if sym.exact)
