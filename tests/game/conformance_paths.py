"""Where the shared conformance fixtures live: ``../shared/conformance``
beside the repository, or ``$RINGRIFT_CONFORMANCE_DIR``."""

from __future__ import annotations

import os
from pathlib import Path


def conformance_dir() -> Path:
    override = os.environ.get("RINGRIFT_CONFORMANCE_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


def missing_reason(path: Path, what: str = "conformance fixtures") -> str:
    return f"{what} not found at {path} (set RINGRIFT_CONFORMANCE_DIR to the conformance folder)"
