"""Every setting ringrift reads: its one default, its type and range, and how to resolve it.

A value comes from, in rising precedence: the default here, ``ringrift.yaml``
in the data root, or ``ringrift config set`` (stored in the state file).
Nothing else in the package may carry its own default for these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    auto: bool = False  # the text "auto" is also a value (resolved where the setting is used)


SETTINGS: tuple[Setting, ...] = (
    Setting("queue.lease_seconds", float, 60.0,
            "How long a claim lasts without a heartbeat before the job returns to the queue.",
            minimum=1, maximum=86_400),
    Setting("queue.max_attempts", int, 3,
            "Claims a job gets before it goes to the dead-letter list.", minimum=1, maximum=100),
    Setting("queue.backoff_base_seconds", float, 10.0,
            "Wait before the first retry of a failed job; doubles with each attempt.",
            minimum=0, maximum=86_400),
    Setting("queue.backoff_max_seconds", float, 3600.0,
            "Longest wait between retries.", minimum=0, maximum=7 * 86_400),
    Setting("worker.heartbeat_fraction", float, 0.3,
            "A worker heartbeats after this fraction of its lease has passed.",
            minimum=0.05, maximum=0.9),
    Setting("selfplay.simulations", int, 64, "Search simulations per move in selfplay.", minimum=1, maximum=100_000),
    Setting("selfplay.parallel_games", int, 16,
            "Games played at once by each search process of a selfplay job; their leaves share each network call.",
            minimum=1, maximum=4096),
    Setting("selfplay.procs", int, "auto",
            "Search processes of one selfplay job; auto: the host's usable cores.",
            minimum=1, maximum=1024, auto=True),
    Setting("selfplay.temperature_plies", int, 20,
            "Moves played with exploration at the start of each game (Gumbel noise, or sampling by visits "
            "under PUCT); later moves are the search's best.",
            minimum=0, maximum=10_000),
    Setting("selfplay.dirichlet_fraction", float, 0.25, "Weight of Dirichlet noise in the root priors (PUCT root only).",
            minimum=0, maximum=1),
    Setting("selfplay.c_puct", float, 1.5, "Exploration constant of the search.", minimum=0.01, maximum=100),
    Setting("search.gumbel", bool, True,
            "Search the root by Gumbel-top-k and sequential halving, with the improved policy as the target; "
            "false: PUCT at the root, visit counts as the target."),
    Setting("export.max_samples", int, 200_000, "Most samples in one NPZ shard.", minimum=1, maximum=50_000_000),
    Setting("export.max_shard_mb", int, 1024,
            "Most megabytes of features in one NPZ shard (export holds a shard in memory while writing it).",
            minimum=1, maximum=64 * 1024),
    Setting("export.min_game_moves", int, 10, "Completed games shorter than this are not exported.",
            minimum=0, maximum=100_000),
    Setting("export.forced_policy_weight", float, 0.0,
            "Weight in the policy loss of a forced move's sample (one legal move: nothing to learn); "
            "searched moves weigh 1.", minimum=0, maximum=1),
    Setting("export.value_blend", float, 0.0,
            "Share of the search's value in the value target; the rest is the game's result.",
            minimum=0, maximum=1),
    Setting("status.event_rows", int, 10, "Events shown by `ringrift status`.", minimum=0, maximum=1000),
    Setting("loop.halted", bool, False, "When true, `ringrift loop tick` enqueues and dispatches nothing."),
)

SETTINGS_BY_KEY = {setting.key: setting for setting in SETTINGS}


@dataclass(frozen=True)
class EffectiveSetting:
    setting: Setting
    value: Any
    source: str  # 'default', 'yaml' or 'cli'


def setting_for(key: str) -> Setting:
    try:
        return SETTINGS_BY_KEY[key]
    except KeyError:
        raise UserError(f"unknown setting {key!r}; valid settings: {', '.join(SETTINGS_BY_KEY)}") from None


def default_of(key: str) -> Any:
    """The single default of a setting, for code that needs it without a Context."""
    return setting_for(key).default


def coerce(setting: Setting, raw: Any) -> Any:
    """Convert ``raw`` (text from the CLI, or a YAML value) to the setting's type, checking range."""
    if setting.auto and str(raw).strip().lower() == "auto":
        return "auto"
    value = _convert(setting, raw)
    if setting.minimum is not None and value < setting.minimum:
        raise UserError(f"{setting.key} must be at least {setting.minimum:g}, got {value}")
    if setting.maximum is not None and value > setting.maximum:
        raise UserError(f"{setting.key} must be at most {setting.maximum:g}, got {value}")
    return value


def _convert(setting: Setting, raw: Any) -> Any:
    kind = setting.type
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise UserError(f"{setting.key} takes true or false, got {raw!r}")
    if isinstance(raw, bool):
        raise UserError(f"{setting.key} takes a number, got {raw!r}")
    try:
        if kind is int:
            number = float(raw)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            number = float(raw)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError
            return number
    except (TypeError, ValueError):
        raise UserError(f"{setting.key} takes {'a whole number' if kind is int else 'a number'}, got {raw!r}") from None
    return kind(raw)


def read_yaml_settings(path: Path) -> dict[str, Any]:
    """Validated values from ``ringrift.yaml`` (a flat mapping of setting keys), or {} if absent."""
    if not path.exists():
        return {}
    import yaml  # only commands that resolve settings pay for it

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}{where}: not valid YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of setting keys to values")
    values = {}
    for key, raw in data.items():
        try:
            values[key] = coerce(setting_for(str(key)), raw)
        except UserError as exc:
            raise UserError(f"{path}: {exc}") from None
    return values


def resolve_settings(yaml_values: dict[str, Any], stored_values: dict[str, Any]) -> list[EffectiveSetting]:
    """Every setting with its effective value and source, in declaration order."""
    effective = []
    for setting in SETTINGS:
        if setting.key in stored_values:
            effective.append(EffectiveSetting(setting, stored_values[setting.key], "cli"))
        elif setting.key in yaml_values:
            effective.append(EffectiveSetting(setting, yaml_values[setting.key], "yaml"))
        else:
            effective.append(EffectiveSetting(setting, setting.default, "default"))
    return effective
