"""Checking registered files against their recorded size and sha256 before anything uses them.

A file that is missing or does not match is quarantined (set aside for good,
with an ``artifact_flagged`` event) so that no stage reads it again: a
truncated or bit-flipped NPZ shard must never reach training. Stages call
``verified_file`` on each input; ``ringrift status --verify`` checks every file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .context import Context
from .errors import UserError
from .files import sha256_of
from .store.artifacts import Artifact, quarantine, unquarantined_artifacts


@dataclass(frozen=True)
class Problem:
    artifact: Artifact
    reason: str


class ArtifactCorrupt(UserError):
    """A registered file no longer matches its sha256; it has been quarantined."""


def artifact_problem(root: Path, artifact: Artifact) -> str | None:
    """Why the file of ``artifact`` cannot be trusted, or None if it matches its registration."""
    path = root / artifact.path
    if not path.is_file():
        return "missing"
    if path.stat().st_size != artifact.bytes:
        return f"{path.stat().st_size} bytes, registered with {artifact.bytes}"
    if sha256_of(path) != artifact.sha256:
        return "does not match its registered sha256"
    return None


def verified_file(context: Context, artifact: Artifact, job_id: int | None = None) -> Path:
    """The artifact's path once its content is checked; quarantines it and raises ArtifactCorrupt
    otherwise."""
    problem = artifact_problem(context.home.root, artifact)
    if problem is not None:
        quarantine(context.store, artifact, problem, job_id)
        raise ArtifactCorrupt(f"{artifact.path} {problem}; quarantined")
    return context.home.root / artifact.path


def verify_all(context: Context, kinds: tuple[str, ...] | None = None) -> tuple[int, list[Problem]]:
    """Check every registered local file not already quarantined; quarantine the bad ones.
    Returns (files checked, problems found)."""
    artifacts = [a for a in unquarantined_artifacts(context.store) if a.host == "local"
                 and (kinds is None or a.kind in kinds)]
    problems = []
    for artifact in artifacts:
        problem = artifact_problem(context.home.root, artifact)
        if problem is not None:
            quarantine(context.store, artifact, problem, None)
            problems.append(Problem(artifact, problem))
    return len(artifacts), problems
