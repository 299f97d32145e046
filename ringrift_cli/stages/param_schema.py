"""The job parameters of every kind: names, types, ranges, defaults and help, declared once.

Every way a job enters the queue (``queue add``, the stage commands, the
loop, the library's ``enqueue``) checks its params here, and each stage
reads them back through the same schema, so a value that was accepted is a
value the stage can run. The CLI options of the stage commands take their
help text and bounds from here too.

A new kind adds its params by adding one entry to ``SCHEMAS``. A param whose
default is a setting takes its type and range from that setting (one source
for each number); a param with a fixed default declares its own.

Kept free of heavy imports: every CLI start may load it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import UserError
from ..settings import Setting, setting_for

SEED_MAX = 2**62  # seeds are mixed with game indices; this leaves room in a signed 64-bit integer
MAX_TEXT = 200  # longest text param (a model file path fits; a pasted file does not)
MAX_DIGITS = 30  # longest number typed for a param; far above every bound below


@dataclass(frozen=True)
class Param:
    """One job parameter. ``setting`` names the setting that supplies its default, type and range;
    otherwise ``type``, ``default``, ``minimum`` and ``maximum`` are its own."""

    name: str
    help: str
    type: type = int  # int, float or str
    setting: str | None = None
    default: Any = None  # None with no setting: absent unless given (the stage derives it)
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None  # text params: the whole value must match
    default_help: str | None = None  # how a derived default (None) is chosen, for --help

    def source(self) -> Setting | None:
        return setting_for(self.setting) if self.setting else None

    def value_type(self) -> type:
        return self.source().type if self.setting else self.type

    def bounds(self) -> tuple[float | None, float | None]:
        source = self.source()
        return (source.minimum, source.maximum) if source else (self.minimum, self.maximum)

    def range_text(self) -> str:
        low, high = self.bounds()
        if low is None and high is None:
            return ""
        if high is None:
            return f"{bound_text(low)} or more"
        return f"{bound_text(low)} to {bound_text(high)}" if low is not None else f"at most {bound_text(high)}"

    def help_text(self) -> str:
        """The param's help with its range and default, as the CLI options and docs show it."""
        text = self.help.rstrip(".") + "."
        if self.range_text():
            text += f" {self.range_text()[0].upper()}{self.range_text()[1:]}."
        if self.setting:
            text += f" Default: setting {self.setting}."
        elif self.default is not None:
            text += f" Default: {self.default}."
        elif self.default_help:
            text += f" Default: {self.default_help}."
        return text


def bound_text(bound: float) -> str:
    """A bound as help shows it: 100000, 0.05, or 2^62 for a large power of two."""
    if bound >= 2**32 and float(bound).is_integer() and int(bound) & (int(bound) - 1) == 0:
        return f"2^{int(bound).bit_length() - 1}"
    return f"{bound:g}" if isinstance(bound, float) and not bound.is_integer() else str(int(bound))


DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d{1,2})?"
OPPONENTS_PATTERN = r"(random|heuristic|best|[0-9a-f]{4,64})(,(random|heuristic|best|[0-9a-f]{4,64})){0,15}"

# Params that train, eval and promote share.
AUTO_DEVICE = Param("device", "Torch device: auto (cuda when present), cpu, cuda or cuda:N", type=str, default="auto",
                    pattern=DEVICE_PATTERN)
CANDIDATE_MODEL = Param("model", "candidate (the newest), or a model id (or unique prefix)", type=str,
                        default="candidate", pattern=r"candidate|[0-9a-f]{4,64}")

SCHEMAS: dict[str, tuple[Param, ...]] = {
    "selfplay": (
        Param("games", "Games to play (one games shard)", minimum=1, maximum=100_000, default=100),
        Param("model", "best (the promoted model; the heuristic before one exists), none or heuristic, random, "
              "a model id, or a model file", type=str, default="best"),
        Param("sims", "Search simulations per move", setting="selfplay.simulations"),
        Param("parallel", "Games played at once (their searches share network calls)",
              setting="selfplay.parallel_games"),
        Param("seed", "Base seed; game i uses a seed derived from it and i", minimum=0, maximum=SEED_MAX,
              default_help="derived from the job, so every job plays different games"),
        Param("temperature_plies", "Moves sampled in proportion to visits at the start of each game",
              setting="selfplay.temperature_plies"),
        Param("dirichlet_fraction", "Weight of Dirichlet noise in the root priors",
              setting="selfplay.dirichlet_fraction"),
        Param("c_puct", "Exploration constant of the search", setting="selfplay.c_puct"),
        Param("device", "Torch device for the network, e.g. cpu, cuda or cuda:1", type=str, default="cpu",
              pattern=r"cpu|mps|cuda(:\d{1,2})?"),
        Param("procs", "Search processes, each playing its share of the games (on an accelerator they share the "
              "network through one batching process); auto: the host's usable cores", setting="selfplay.procs"),
    ),
    "export": (
        Param("max_samples", "Most samples per NPZ shard (games are never split: a single longer game gets a "
              "shard of its own)", setting="export.max_samples"),
        Param("min_game_moves", "Completed games shorter than this are not exported",
              setting="export.min_game_moves"),
    ),
    "train": (
        Param("from", "best (warm-start from the best model; from scratch before one exists), scratch, or a model "
              "id (or unique prefix)", type=str, default="best", pattern=r"best|scratch|[0-9a-f]{4,64}"),
        Param("preset", "Network size when training from scratch: tiny, small, medium or large", type=str,
              pattern=r"tiny|small|medium|large", default_help="the parent's, else setting train.preset"),
        Param("epochs", "Most epochs (early stopping may end sooner)", setting="train.epochs"),
        Param("batch_size", "Samples per training step", setting="train.batch_size"),
        Param("lr", "Peak learning rate", setting="train.lr"),
        Param("max_samples", "Train on the newest this many samples", setting="train.window_samples"),
        AUTO_DEVICE,
        Param("data_workers", "Processes building batches ahead of each step (the batches are the same with any "
              "number); auto: none on a CPU, else half the host's cores, from 2 to 4", setting="train.data_workers"),
        Param("seed", "Seed of initialisation, shuffling and augmentation", minimum=0, maximum=SEED_MAX,
              default_help="derived from the job"),
    ),
    "eval": (
        CANDIDATE_MODEL,
        Param("opponents", "Comma-separated opponents: random, heuristic, best, or model ids", type=str,
              default="random,heuristic,best", pattern=OPPONENTS_PATTERN),
        Param("games", "Games against each opponent", setting="eval.games"),
        Param("sims", "Search simulations per move", setting="eval.simulations"),
        Param("parallel", "Games played at once by each search process", setting="eval.parallel_games"),
        Param("procs", "Search processes sharing the games; auto: the host's usable cores", setting="eval.procs"),
        AUTO_DEVICE,
        Param("seed", "Base seed; game i uses a seed derived from it and i", minimum=0, maximum=SEED_MAX,
              default_help="derived from the job"),
    ),
    "promote": (
        CANDIDATE_MODEL,
        Param("sims", "Search simulations per move in head-to-head games", setting="eval.simulations"),
        Param("parallel", "Head-to-head games played at once by each search process", setting="eval.parallel_games"),
        Param("procs", "Search processes sharing the games; auto: the host's usable cores", setting="eval.procs"),
        AUTO_DEVICE,
        Param("seed", "Base seed of the head-to-head games", minimum=0, maximum=SEED_MAX,
              default_help="derived from the job"),
    ),
    # Kinds whose stage takes no params yet: any param given to them is refused.
    "sync": (),
}


def schema_for(kind: str) -> dict[str, Param]:
    try:
        return {param.name: param for param in SCHEMAS[kind]}
    except KeyError:
        raise UserError(f"unknown job kind {kind!r}; valid kinds: {', '.join(SCHEMAS)}") from None


def param_for(kind: str, name: str) -> Param:
    schema = schema_for(kind)
    if name not in schema:
        valid = ", ".join(schema) or "none"
        raise UserError(f"{kind} takes no param {shown(name)}; valid params: {valid}")
    return schema[name]


def shown(value: Any, limit: int = 40) -> str:
    """A value as an error line shows it: never longer than ``limit`` characters."""
    text = repr(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else str_number(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def str_number(value: int | float) -> str:
    if isinstance(value, int) and abs(value) >= 10**MAX_DIGITS:
        return f"a {len(str(abs(value)))}-digit number"
    return repr(value)


def takes_auto(param: Param) -> bool:
    """Whether the text ``auto`` is a value of ``param`` (its setting says so)."""
    return param.setting is not None and param.source().auto


def check_value(kind: str, param: Param, value: Any) -> Any:
    """``value`` (already typed: from JSON or Python) if it fits the param, else UserError."""
    if takes_auto(param) and value == "auto":
        return value
    kind_type = param.value_type()
    where = f"{kind} {param.name}"
    if kind_type is str:
        if not isinstance(value, str):
            raise UserError(f"{where} takes text, got {shown(value)}")
        return check_text(where, param, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{where} takes {'a whole number' if kind_type is int else 'a number'}, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{where} takes a finite number, got {shown(value)}")
    if kind_type is int:
        if isinstance(value, float) and not value.is_integer():
            raise UserError(f"{where} takes a whole number, got {shown(value)}")
        value = int(value)
    else:
        value = float(value)
    low, high = param.bounds()
    if (low is not None and value < low) or (high is not None and value > high):
        raise UserError(f"{where} must be {param.range_text()}, got {shown(value)}")
    return value


def check_text(where: str, param: Param, value: str) -> str:
    if not value or len(value) > MAX_TEXT:
        raise UserError(f"{where} must be 1 to {MAX_TEXT} characters, got {len(value)}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise UserError(f"{where} must not hold control characters, got {shown(value)}")
    if param.pattern and not re.fullmatch(param.pattern, value):
        raise UserError(f"{where}: {shown(value)} is not one of the accepted forms ({param.help})")
    return value


def parse_text(kind: str, param: Param, raw: str) -> Any:
    """A value typed on the command line (``--param name=raw``), read as the param's type."""
    if takes_auto(param) and raw.strip().lower() == "auto":
        return "auto"
    kind_type = param.value_type()
    if kind_type is str:
        return check_value(kind, param, raw)
    text = raw.strip()
    if len(text) > MAX_DIGITS:
        raise UserError(f"{kind} {param.name} takes a number of at most {MAX_DIGITS} characters, "
                        f"got {len(text)} characters")
    try:
        number = float(text) if kind_type is float else int(text)
    except ValueError:
        try:
            number = float(text)  # '2.0' or '1e3' for a whole number
        except ValueError:
            raise UserError(f"{kind} {param.name} takes a number, got {shown(raw)}") from None
    return check_value(kind, param, number)


def check_params(kind: str, params: dict) -> dict:
    """The params of a job about to be enqueued, checked against the kind's schema (a copy)."""
    if not isinstance(params, dict):
        raise UserError(f"job params must be a mapping of names to values, got {shown(params)}")
    return {name: check_value(kind, param_for(kind, name), value) for name, value in params.items()}


def parse_params(kind: str, items: list[str] | None) -> dict:
    """``name=value`` pairs typed on the command line, each read and checked as its param's type."""
    params: dict = {}
    for item in items or []:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UserError(f"malformed --param {shown(item)}; expected NAME=VALUE (e.g. games=100)")
        if name in params:
            raise UserError(f"--param {shown(name)} given twice")
        params[name] = parse_text(kind, param_for(kind, name), raw)
    return params


def resolve_params(kind: str, params: dict, setting: Callable[[str], Any]) -> dict:
    """Every param of ``kind``: the job's value (checked again: rows may predate a schema change),
    else the setting's effective value, else the fixed default (None for a derived one)."""
    given = check_params(kind, params)
    values = {}
    for param in SCHEMAS[kind]:
        if param.name in given:
            values[param.name] = given[param.name]
        elif param.setting:
            values[param.name] = setting(param.setting)
        else:
            values[param.name] = param.default
    return values
