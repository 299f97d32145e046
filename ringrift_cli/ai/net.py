"""The network: a residual CNN with a policy head and a per-seat value head.

Input: board planes [C, H, W] and global features [G] (see ``encoding.py``).
Output: policy logits [P] over the policy space and one value per seat in
[-1, 1], in the encoder's seat order (the side to move first).

The policy head is spatial: a 1x1 convolution gives ``policy_channels``
logits per grid cell (flattened channel-major, index = ch*H*W + y*W + x),
followed by ``policy_extra`` logits from pooled features for moves that have
no cell. That keeps the head small on the 25x25 board, where a dense layer
to ~100k outputs would dwarf the trunk.

A model file (``save_model``/``load_model``) carries the config key, preset,
the encoding it was built for (encoder version and shapes), training lineage
and the sha256 of its weights, and is
loaded with ``weights_only=True``: a file that does not match what the
caller expects is an error, never a silent fallback.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..files import atomic_path

MODEL_FORMAT = "ringrift-model"
MODEL_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Preset:
    blocks: int
    channels: int
    value_hidden: int


# From CI-sized to the reference sizes (6x96 for square boards, 12x192 for hex).
PRESETS = {
    "tiny": Preset(blocks=2, channels=16, value_hidden=32),
    "small": Preset(blocks=4, channels=48, value_hidden=64),
    "medium": Preset(blocks=6, channels=96, value_hidden=128),
    "large": Preset(blocks=12, channels=192, value_hidden=256),
}


@dataclass(frozen=True)
class NetShape:
    """What the network must fit: the encoder's layout for one config key."""

    planes: int
    height: int
    width: int
    globals: int
    policy_channels: int
    policy_extra: int
    seats: int

    @property
    def policy_size(self) -> int:
        return self.policy_channels * self.height * self.width + self.policy_extra

    @classmethod
    def from_encoding(cls, encoding: dict) -> "NetShape":
        """From ``BoardEncoding.metadata()`` (what model files record)."""
        return cls(**{name: encoding[name] for name in cls.__dataclass_fields__})


class ModelFileError(ValueError):
    """A model file that is unreadable, corrupt, or not what the caller asked for."""


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(x + y)


class RingRiftNet(nn.Module):
    def __init__(self, shape: NetShape, preset: Preset):
        super().__init__()
        self.shape = shape
        self.preset = preset
        c = preset.channels
        self.stem = nn.Conv2d(shape.planes, c, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        # Globals (counts, phase, thresholds) enter as a per-channel bias of the stem.
        self.globals_in = nn.Linear(shape.globals, c)
        self.blocks = nn.Sequential(*(ResidualBlock(c) for _ in range(preset.blocks)))
        self.policy_conv = nn.Conv2d(c, max(shape.policy_channels, 1), 1)
        self.policy_extra = nn.Linear(c, shape.policy_extra) if shape.policy_extra else None
        self.value_hidden = nn.Linear(c + shape.globals, preset.value_hidden)
        self.value_out = nn.Linear(preset.value_hidden, shape.seats)

    def forward(self, planes: torch.Tensor, globals_: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.stem_bn(self.stem(planes)) + self.globals_in(globals_)[:, :, None, None]
        x = self.blocks(torch.relu(x))
        pooled = x.mean(dim=(2, 3))
        parts = []
        if self.shape.policy_channels:
            parts.append(self.policy_conv(x).flatten(1))
        if self.policy_extra is not None:
            parts.append(self.policy_extra(pooled))
        policy = torch.cat(parts, dim=1)
        value = torch.tanh(self.value_out(torch.relu(self.value_hidden(torch.cat([pooled, globals_], dim=1)))))
        return policy, value


@dataclass
class ModelInfo:
    """Everything a model file says about itself besides its weights."""

    config_key: str
    preset: str
    encoding: dict  # BoardEncoding.metadata(): encoder version and every shape
    lineage: dict = field(default_factory=dict)  # parent model id, data shards, job id, metrics
    weights_sha256: str = ""

    @property
    def shape(self) -> NetShape:
        return NetShape.from_encoding(self.encoding)

    @property
    def encoder_version(self) -> int:
        return self.encoding["version"]


def new_net(config_key: str, preset: str) -> tuple["RingRiftNet", ModelInfo]:
    """A freshly initialised network for a config key, with its info."""
    from .encoding import encoder_for

    encoding = encoder_for(config_key).metadata()
    info = ModelInfo(config_key=config_key, preset=preset, encoding=encoding)
    return build_net(info.shape, preset), info


def build_net(shape: NetShape, preset: str) -> RingRiftNet:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    return RingRiftNet(shape, PRESETS[preset])


def weights_digest(state_dict: dict) -> str:
    """sha256 over parameter names, shapes, dtypes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_model(path: Path, net: RingRiftNet, info: ModelInfo) -> ModelInfo:
    """Write the model atomically; return the info with its weights digest filled in."""
    state_dict = {name: tensor.detach().cpu() for name, tensor in net.state_dict().items()}
    info = ModelInfo(info.config_key, info.preset, dict(info.encoding), dict(info.lineage), weights_digest(state_dict))
    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "config_key": info.config_key,
        "preset": info.preset,
        "encoding": info.encoding,
        "lineage": info.lineage,
        "weights_sha256": info.weights_sha256,
        "state_dict": state_dict,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return info


def load_model(path: Path, *, config_key: str | None = None,
               device: str | torch.device = "cpu") -> tuple[RingRiftNet, ModelInfo]:
    """Load and check a model file; ModelFileError if it is corrupt, or (given ``config_key``)
    if it was made for another config or another encoding than this build's."""
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise ModelFileError(f"cannot load model {path}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{path} is not a ringrift model file")
    if payload.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelFileError(f"{path} has model format {payload.get('format_version')}, expected {MODEL_FORMAT_VERSION}")
    if config_key is not None:
        from .encoding import EncodingMismatchError, check_metadata

        if payload["config_key"] != config_key:
            raise ModelFileError(f"{path} is a {payload['config_key']} model, not {config_key}")
        try:
            check_metadata(payload["encoding"], config_key)
        except EncodingMismatchError as exc:
            raise ModelFileError(f"{path}: {exc}") from None
    state_dict = payload["state_dict"]
    if weights_digest(state_dict) != payload["weights_sha256"]:
        raise ModelFileError(f"{path}: weights do not match their recorded sha256 (corrupt file)")
    info = ModelInfo(payload["config_key"], payload["preset"], payload["encoding"], payload["lineage"],
                     payload["weights_sha256"])
    net = build_net(info.shape, info.preset)
    net.load_state_dict(state_dict)
    net.to(device).eval()
    return net, info
