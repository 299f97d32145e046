"""What a machine offers: versions, Python, torch, CUDA, GPUs, free disk, load.

``ringrift hosts describe --json`` prints these facts on the host; ``hosts check`` reads them over
SSH. The same dataclass is both the writer's output and the reader's schema, and the reader treats
the JSON as untrusted: sizes bounded, every field type-checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass, fields
from pathlib import Path

MAX_DESCRIPTION = 64 * 1024
MAX_GPUS = 64
MAX_TEXT = 200


class BadDescription(ValueError):
    """A host answered ``hosts describe`` with something other than a description."""


@dataclass(frozen=True)
class MachineFacts:
    ringrift: str
    encoder_version: int
    schema_version: int
    python: str
    torch: str | None
    cuda: str | None  # the CUDA torch was built for; None for a CPU build
    gpus: list[str]
    free_disk_bytes: int
    load: float  # one-minute load average
    cpus: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def our_versions() -> tuple[str, int, int]:
    """This ringrift's (version, encoder version, state-file schema version): what hosts must match."""
    from .. import __version__
    from ..ai.encoding import ENCODER_VERSION
    from ..store.migrations import SCHEMA_VERSION

    return __version__, ENCODER_VERSION, SCHEMA_VERSION


def describe_machine(home: Path) -> MachineFacts:
    """The facts of this machine; disk is measured where ``home`` is (or would be created)."""
    version, encoder, schema = our_versions()
    torch_version, cuda = _torch()
    return MachineFacts(
        ringrift=version, encoder_version=encoder, schema_version=schema,
        python=platform.python_version(), torch=torch_version, cuda=cuda, gpus=_gpu_names(),
        free_disk_bytes=shutil.disk_usage(_existing(home.expanduser())).free, load=os.getloadavg()[0],
        cpus=os.cpu_count() or 1,
    )


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _torch() -> tuple[str | None, str | None]:
    """torch's version and the CUDA it was built for (None for a CPU build).

    Read from torch's own version file rather than by importing torch, which costs seconds on every
    probe of every host; whether a GPU is there is nvidia-smi's answer (``gpus``).
    """
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None, None
    location = Path(list(spec.submodule_search_locations)[0]) / "version.py"
    version_spec = importlib.util.spec_from_file_location("_ringrift_torch_version", location)
    if version_spec is None or version_spec.loader is None:
        return None, None
    module = importlib.util.module_from_spec(version_spec)
    try:
        version_spec.loader.exec_module(module)
    except (OSError, SyntaxError, ImportError):
        return None, None
    return getattr(module, "__version__", None), getattr(module, "cuda", None)


def _gpu_names() -> list[str]:
    if shutil.which("nvidia-smi"):
        try:
            proc = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                  capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            return ["nvidia-smi did not answer"]
        if proc.returncode == 0:
            return [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    return []


def read_description(text: str) -> MachineFacts:
    """Parse a host's ``hosts describe --json`` output; raise BadDescription unless it fits exactly."""
    if len(text) > MAX_DESCRIPTION:
        raise BadDescription(f"description of {len(text)} characters (at most {MAX_DESCRIPTION})")
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BadDescription(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise BadDescription("not a JSON object")
    names = {field.name for field in fields(MachineFacts)}
    if set(raw) != names:
        raise BadDescription(f"fields {sorted(raw)[:20]}, expected {sorted(names)}")
    for key in ("ringrift", "python"):
        _check(raw, key, str)
    for key in ("torch", "cuda"):
        _check(raw, key, (str, type(None)))
    for key in ("encoder_version", "schema_version", "free_disk_bytes", "cpus"):
        _check(raw, key, int)
    _check(raw, "load", (int, float))
    if not isinstance(raw["gpus"], list) or len(raw["gpus"]) > MAX_GPUS:
        raise BadDescription(f"gpus: a list of at most {MAX_GPUS} names expected")
    for name in raw["gpus"]:
        if not isinstance(name, str) or len(name) > MAX_TEXT:
            raise BadDescription("gpus: names must be short text")
    return MachineFacts(**{**raw, "load": float(raw["load"])})


def _check(raw: dict, key: str, expected) -> None:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, expected):
        raise BadDescription(f"{key}: unexpected {type(value).__name__}")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise BadDescription(f"{key}: longer than {MAX_TEXT} characters")
    if isinstance(value, (int, float)) and not 0 <= value < 2**63:
        raise BadDescription(f"{key}: {value} out of range")
