"""Options and argument parsing shared by many commands (defined once, reused)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError

HomeOption = Annotated[
    Optional[Path],
    typer.Option(
        "--home",
        help="Data root directory, or a state file such as queue.db.example. "
        "Default: $RINGRIFT_HOME, else ./ringrift-data.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
WorkerOption = Annotated[str, typer.Option("--worker", "-w", help="Name of the worker holding the claim.")]
MAX_INT = 2**63 - 1  # SQLite's integers; anything larger is a typo, not a request
MAX_LEASE = 86_400.0

ClaimOption = Annotated[
    Optional[int],
    typer.Option("--claim", help="Claim number printed by `queue claim` (field claim_seq); fences out a stale "
                 "holder that used the same worker name.", min=1, max=MAX_INT),
]
LeaseOption = Annotated[
    Optional[float],
    typer.Option("--lease", help="Lease in seconds (1 to 86400). Default: setting queue.lease_seconds.",
                 min=1, max=MAX_LEASE),
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '12h', '7d', '2w' -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise UserError(f"cannot read duration {text!r}; use a number with s, m, h, d or w (e.g. 7d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def param_option(kind: str, name: str, *flags: str):
    """A stage command's option for job param ``name``: its help (range, default) comes from the
    kind's schema, which also checks the value when the job is enqueued."""
    from ..stages.param_schema import param_for

    return typer.Option(*flags, help=param_for(kind, name).help_text(), show_default=False)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_json_object(text: str, what: str) -> dict:
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise UserError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UserError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value
