"""The fixed vocabularies: config keys and pipeline stages.

Kept free of heavy imports because every CLI start validates against them.
"""

from __future__ import annotations

from .errors import UserError

BOARDS = ("square8", "square19", "hex8", "hexagonal")
PLAYER_COUNTS = (2, 3, 4)
CONFIG_KEYS = tuple(f"{board}_{n}p" for board in BOARDS for n in PLAYER_COUNTS)

# The order is the pipeline's order; `ringrift status` lists kinds in it.
STAGES = ("selfplay", "sync", "export", "train", "eval", "promote")


def check_config_key(key: str) -> str:
    """Return ``key`` if it is one of the twelve config keys, else raise UserError."""
    if key not in CONFIG_KEYS:
        raise UserError(f"unknown config key {key!r}; valid keys: {', '.join(CONFIG_KEYS)}")
    return key


def check_stage(kind: str) -> str:
    """Return ``kind`` if it is a pipeline stage, else raise UserError."""
    if kind not in STAGES:
        raise UserError(f"unknown job kind {kind!r}; valid kinds: {', '.join(STAGES)}")
    return kind


def parse_stage_list(text: str) -> tuple[str, ...]:
    """Parse 'selfplay,export' into validated stage names (order kept, repeats dropped)."""
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    if not kinds:
        raise UserError(f"empty kind list; valid kinds: {', '.join(STAGES)}")
    return tuple(dict.fromkeys(check_stage(kind) for kind in kinds))
