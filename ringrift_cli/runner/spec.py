"""What a job's run step needs, as one plain JSON document: ``runs/<job>/spec.json``.

The controller plans it (params resolved, every input file named with its sha256); the run step
reads nothing else: no state file, no settings. A host reads a spec it was sent, so it is parsed as
untrusted input: bounded JSON, exact fields, input paths relative and inside the data root.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UserError
from ..files import atomic_path
from ..json_input import load_file
from ..keys import check_config_key

RUNS = "runs"
SPEC_FILE = "spec.json"
RUN_KINDS = ("selfplay", "export", "train", "eval", "promote")  # the stages whose run step works on files alone
INPUT_ROLES = ("model", "parent", "npz", "games")
MAX_INPUTS = 10_000


class BadSpec(UserError):
    """A spec file that is not a spec this ringrift can run."""


@dataclass(frozen=True)
class InputFile:
    role: str  # one of INPUT_ROLES
    path: str  # relative to the data root
    sha256: str


@dataclass(frozen=True)
class RunSpec:
    job_id: int
    claim_seq: int  # the claim this run belongs to: a status of another claim is not this run's
    kind: str
    config_key: str
    params: dict  # resolved: the run step applies no defaults of its own
    inputs: tuple[InputFile, ...] = ()
    meta: dict | None = None  # what the controller planned for publish (not read by the run step)

    @property
    def run_dir(self) -> str:
        return run_dir_of(self.job_id)

    @property
    def spec_path(self) -> str:
        return f"{self.run_dir}/{SPEC_FILE}"

    def input(self, role: str) -> InputFile | None:
        return next((item for item in self.inputs if item.role == role), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, allow_nan=False)


def run_dir_of(job_id: int) -> str:
    return f"{RUNS}/{job_id}"


def write_spec(root: Path, spec: RunSpec) -> Path:
    path = root / spec.spec_path
    with atomic_path(path) as tmp:
        tmp.write_text(spec.to_json())
    return path


def read_spec(path: Path) -> RunSpec:
    from ..remote.transfer import RELATIVE, SHA256

    raw = load_file(path, f"spec file {path}")
    names = {"job_id", "claim_seq", "kind", "config_key", "params", "inputs", "meta"}
    if not isinstance(raw, dict) or set(raw) != names:
        raise BadSpec(f"spec file {path}: expected the fields {sorted(names)}")
    for key in ("job_id", "claim_seq"):
        if type(raw[key]) is not int or not 0 < raw[key] < 2**62:
            raise BadSpec(f"spec file {path}: {key} must be a positive whole number")
    if raw["kind"] not in RUN_KINDS:
        raise BadSpec(f"spec file {path}: kind {raw['kind']!r} has no run step; kinds: {', '.join(RUN_KINDS)}")
    try:
        check_config_key(raw["config_key"])
    except UserError as exc:
        raise BadSpec(f"spec file {path}: {exc}") from None
    if not isinstance(raw["params"], dict) or not (raw["meta"] is None or isinstance(raw["meta"], dict)):
        raise BadSpec(f"spec file {path}: params and meta must be objects")
    if not isinstance(raw["inputs"], list) or len(raw["inputs"]) > MAX_INPUTS:
        raise BadSpec(f"spec file {path}: inputs must be a list of at most {MAX_INPUTS}")
    inputs = []
    for item in raw["inputs"]:
        if not isinstance(item, dict) or set(item) != {"role", "path", "sha256"}:
            raise BadSpec(f"spec file {path}: each input needs role, path and sha256")
        relative = isinstance(item["path"], str) and RELATIVE.match(item["path"]) \
            and ".." not in item["path"].split("/")
        absolute = isinstance(item["path"], str) and item["path"].startswith("/")  # a model file given by path
        if item["role"] not in INPUT_ROLES or not (relative or absolute) \
                or not isinstance(item["sha256"], str) or not SHA256.match(item["sha256"]):
            raise BadSpec(f"spec file {path}: input {str(item)[:120]} is not a role, a plain path and a sha256")
        inputs.append(InputFile(**item))
    return RunSpec(raw["job_id"], raw["claim_seq"], raw["kind"], raw["config_key"], raw["params"], tuple(inputs),
                   raw["meta"])


def input_path(root: Path, item: InputFile) -> Path:
    """The input's file on this machine, checked against its sha256 (a BadSpec when it differs)."""
    from ..files import sha256_of

    path = Path(item.path) if item.path.startswith("/") else root / item.path
    if not path.is_file():
        raise BadSpec(f"input {item.path} is missing under {root}")
    if sha256_of(path) != item.sha256:
        raise BadSpec(f"input {item.path} does not match its sha256 {item.sha256[:12]}…; refusing to use it")
    return path
