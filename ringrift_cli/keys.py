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


# Host names (hosts.yaml, --host pins) and worker names end up in ssh command lines and file
# names: letters, digits and a few separators only, never a leading '-' or a trailing newline.
HOST_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}"
WORKER_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}"


def check_host_name(name: str) -> str:
    import re

    if not isinstance(name, str) or not re.fullmatch(HOST_NAME_PATTERN, name):
        raise UserError(f"{_shown(name)} is not a valid host name (up to 63 letters, digits, '.', '_', '-'; "
                        "starting with a letter or digit)")
    return name


def check_worker_name(name: str) -> str:
    import re

    if not isinstance(name, str) or not re.fullmatch(WORKER_NAME_PATTERN, name):
        raise UserError(f"{_shown(name)} is not a valid worker name (up to 128 letters, digits, '.', '_', "
                        "'-', ':', '@', '/'; starting with a letter or digit)")
    return name


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
