"""Training samples and the NPZ shard format they are stored in.

One shard holds N samples (positions), each seen from the side to move:

=================  ===============  ===========================================
array              dtype, shape     meaning
=================  ===============  ===========================================
features           float32 N,C,H,W  board planes (``encoding.encode_state``)
globals            float32 N,G      global features
policy_offsets     int64 N+1        sample i's targets are [offsets[i], offsets[i+1])
policy_indices     int32 K          policy indices of every legal move (the trainer's softmax
                                    runs over these alone)
policy_probs       float32 K        the search's probabilities (0 where it gave none); each
                                    sample's sum to 1
values             float32 N,S      value target per seat, the side to move first: the final
                                    result, or blended with the search's value (export.value_blend)
searched           bool N           the move was searched (False: forced, one legal move)
policy_weight      float32 N        weight of the sample in the policy loss (the trainer
                                    multiplies it in): 1 searched, export.forced_policy_weight forced
game_ids           int64 N          (games artifact id << 32) | game id in that shard
move_numbers       int32 N          ply of the position in its game
meta               str (0-d)        JSON: config_key, encoder_version, policy_size, games
=================  ===============  ===========================================

Training splits by ``game_ids`` (never by position), so no game's positions
fall on both sides of a validation split.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ARRAYS = ("features", "globals", "policy_offsets", "policy_indices", "policy_probs", "values",
          "game_ids", "move_numbers", "searched", "policy_weight")
DTYPES = {"features": np.float32, "globals": np.float32, "policy_offsets": np.int64,
          "policy_indices": np.int32, "policy_probs": np.float32, "values": np.float32,
          "game_ids": np.int64, "move_numbers": np.int32, "searched": np.bool_, "policy_weight": np.float32}
PROB_TOLERANCE = 1e-3


class ShardError(ValueError):
    """An NPZ shard that is corrupt, truncated or inconsistent; the message names the file."""


@dataclass
class SampleShard:
    arrays: dict[str, np.ndarray]
    meta: dict

    @property
    def samples(self) -> int:
        return len(self.arrays["features"])


def game_key(artifact_id: int, game_id: int) -> int:
    return (artifact_id << 32) | game_id


def validate_shard(shard: SampleShard, name: str, *, encoder_version: int | None = None,
                   policy_size: int | None = None) -> None:
    """Raise ShardError unless every array has the right dtype, shape and values."""
    a, meta = shard.arrays, shard.meta

    def fail(message: str) -> ShardError:
        return ShardError(f"{name}: {message}")

    for key in ARRAYS:
        if key not in a:
            raise fail(f"missing array {key!r}")
        if a[key].dtype != DTYPES[key]:
            raise fail(f"{key} has dtype {a[key].dtype}, expected {np.dtype(DTYPES[key])}")
    n = len(a["features"])
    if a["features"].ndim != 4 or a["globals"].ndim != 2 or a["values"].ndim != 2:
        raise fail("features must be 4-D, globals and values 2-D")
    for key in ("globals", "values", "game_ids", "move_numbers", "searched", "policy_weight"):
        if len(a[key]) != n:
            raise fail(f"{key} has {len(a[key])} rows, features {n}")
    offsets = a["policy_offsets"]
    if len(offsets) != n + 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 1) or offsets[-1] != len(a["policy_indices"]):
        raise fail("policy_offsets are not a valid partition of the policy targets")
    if len(a["policy_probs"]) != len(a["policy_indices"]):
        raise fail("policy_probs and policy_indices differ in length")
    for key in ("features", "globals", "policy_probs", "values", "policy_weight"):
        if not np.all(np.isfinite(a[key])):
            raise fail(f"{key} holds non-finite values")
    if np.any(a["policy_probs"] < 0):
        raise fail("negative policy probabilities")
    sums = np.add.reduceat(a["policy_probs"].astype(np.float64), offsets[:-1]) if n else np.zeros(0)
    if np.any(np.abs(sums - 1.0) > PROB_TOLERANCE):
        worst = int(np.argmax(np.abs(sums - 1.0)))
        raise fail(f"sample {worst}'s policy sums to {sums[worst]:.6f}, not 1")
    if np.any(np.abs(a["values"]) > 1.0 + 1e-6):
        raise fail("values outside [-1, 1]")
    if np.any(a["policy_weight"] < 0) or np.any(a["policy_weight"] > 1):
        raise fail("policy weights outside [0, 1]")
    size = policy_size if policy_size is not None else meta.get("policy_size")
    if size is None or (len(a["policy_indices"]) and (a["policy_indices"].min() < 0 or a["policy_indices"].max() >= size)):
        raise fail(f"policy indices outside [0, {size})")
    if encoder_version is not None and meta.get("encoder_version") != encoder_version:
        raise fail(f"encoder version {meta.get('encoder_version')}, expected {encoder_version}")


def write_shard(path: Path, shard: SampleShard) -> None:
    """Write ``shard`` to ``path`` (the caller picks a temporary name and renames)."""
    with open(path, "wb") as handle:
        np.savez_compressed(handle, meta=np.array(json.dumps(shard.meta, sort_keys=True)), **shard.arrays)


def read_shard(path: Path, *, encoder_version: int | None = None, policy_size: int | None = None) -> SampleShard:
    """Load and validate a shard; ShardError naming ``path`` if it is corrupt, truncated or inconsistent."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ARRAYS if key in data}
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ShardError(f"{path}: cannot read NPZ shard ({exc})") from None
    shard = SampleShard(arrays, meta)
    validate_shard(shard, str(path), encoder_version=encoder_version, policy_size=policy_size)
    return shard
