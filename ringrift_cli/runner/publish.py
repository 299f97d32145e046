"""The controller's side of a finished run: each output checked against what the run reported, then
moved from the run folder to the name it is registered under."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError
from ..files import fsync_dir, sha256_of
from .status import OutputFile


class OutputRefused(UserError):
    """An output that is not the file its run reported (size or sha256): never registered."""


def settle_output(root: Path, output: OutputFile, relative: str) -> Path:
    """Move ``output`` (under ``root``) to ``relative`` once its size and sha256 match the report.

    Idempotent: when the output is already at ``relative`` with its sha256 (an earlier publish
    moved it and stopped before registering), that file is kept. A different file under the final
    name was never registered (registration follows the move), so it is replaced.
    """
    source, final = root / output.path, root / relative
    if not source.is_file() and final.is_file() and sha256_of(final) == output.sha256:
        return final
    verified_output(root, output)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, final)
    fsync_dir(final.parent)
    return final


def verified_output(root: Path, output: OutputFile) -> Path:
    """The output's file (under ``root``, where its run left it) once its size and sha256 match the
    report; OutputRefused otherwise. For an output that publish reads rather than registers."""
    source = root / output.path
    if not source.is_file():
        raise OutputRefused(f"output {output.path} is missing")
    size = source.stat().st_size
    if size != output.bytes:
        raise OutputRefused(f"output {output.path} has {size} bytes, its run reported {output.bytes}")
    digest = sha256_of(source)
    if digest != output.sha256:
        raise OutputRefused(f"output {output.path} has sha256 {digest[:12]}…, its run reported "
                            f"{output.sha256[:12]}…")
    return source
