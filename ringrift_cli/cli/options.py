"""Options and argument parsing shared by many commands (defined once, reused)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from ..settings import MAX_INT, lease_bounds

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
def whole_number(low: int, high: int = MAX_INT):
    """A callback bounding an integer option or argument. Unlike click's min/max it keeps help free
    of ranges such as [1<=x<=9223372036854775807]; the help text says the bound in words."""

    def check(value):
        if value is not None and not low <= value <= high:
            raise typer.BadParameter(f"{value if abs(value) < 10**30 else 'a huge number'} is not "
                                     + (f"{low} or more" if high == MAX_INT else f"from {low} to {high}"))
        return value

    return check


ClaimOption = Annotated[
    int,
    typer.Option("--claim", help="Claim number printed by `queue claim` (field claim_seq); required: it fences "
                 "out a stale holder that reused the same worker name.", callback=whole_number(1),
                 show_default=False),
]
LeaseOption = Annotated[
    Optional[float],
    typer.Option("--lease", help=f"Lease in seconds ({lease_bounds()[0]:g} to {lease_bounds()[1]:g}). "
                 "Default: setting queue.lease_seconds.", min=lease_bounds()[0], max=lease_bounds()[1]),
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
