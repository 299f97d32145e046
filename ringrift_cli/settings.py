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
    check: str | None = None  # a named extra check on the converted value (see EXTRA_CHECKS)
    auto: bool = False  # the text "auto" is also a value (resolved where the setting is used)


SETTINGS: tuple[Setting, ...] = (
    Setting("profile", str, "default",
            "A named set of values under ringrift.yaml and `config set`: 'default' (sized for real runs) or "
            "'quickstart' (a small network, small thresholds and few eval games: a first promoted model in "
            "minutes on a laptop).", check="profile_name"),
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
    # -- the model lifecycle: train, eval, promote ------------------------------------------
    Setting("train.preset", str, "small",
            "Network size of a model trained from scratch: tiny, small, medium or large.", check="preset_name"),
    Setting("train.window_samples", int, 500_000, "Training reads the newest this many samples of a config.",
            minimum=1, maximum=100_000_000),
    Setting("train.epochs", int, 10, "Most epochs of one training run (early stopping may end it sooner).",
            minimum=1, maximum=1000),
    Setting("train.batch_size", int, 256, "Samples per training step.", minimum=1, maximum=65_536),
    Setting("train.lr", float, 1e-3, "Peak learning rate (AdamW), reached after the warm-up.", minimum=1e-7, maximum=1.0),
    Setting("train.weight_decay", float, 1e-4, "AdamW weight decay.", minimum=0, maximum=1.0),
    Setting("train.warmup_fraction", float, 0.05, "Fraction of the steps spent warming the learning rate up.",
            minimum=0, maximum=0.5),
    Setting("train.grad_clip", float, 1.0, "Gradient norm clip.", minimum=1e-3, maximum=1e6),
    Setting("train.policy_weight", float, 1.0, "Weight of the policy cross-entropy in the loss.", minimum=0, maximum=100),
    Setting("train.value_weight", float, 1.0, "Weight of the per-seat value loss in the loss.", minimum=0, maximum=100),
    Setting("train.patience", int, 3, "Epochs without a better validation loss before training stops.",
            minimum=1, maximum=1000),
    Setting("train.data_workers", int, "auto",
            "Processes that build training batches ahead of each step, each holding one NPZ shard in memory; "
            "auto: none on a CPU (the step dwarfs the data path), else half the host's usable cores, from 2 to 4.",
            minimum=0, maximum=64, auto=True),
    Setting("train.val_fraction", float, 0.15, "Fraction of games (never positions) held out for validation.",
            minimum=0.01, maximum=0.5),
    Setting("eval.games", int, 20, "Games against each opponent in one evaluation.", minimum=1, maximum=100_000),
    Setting("eval.simulations", int, 32, "Search simulations per move in evaluation games.", minimum=1, maximum=100_000),
    Setting("eval.parallel_games", int, 16, "Evaluation games played at once by each search process.",
            minimum=1, maximum=4096),
    Setting("eval.procs", int, "auto",
            "Search processes of one evaluation or promotion job; auto: the host's usable cores.",
            minimum=1, maximum=1024, auto=True),
    Setting("eval.opening_plies", int, 4,
            "Moves sampled in proportion to visits at the start of an evaluation game, so seeds give different games.",
            minimum=0, maximum=10_000),
    Setting("promote.min_games", int, 20, "Games against each baseline a candidate needs before the gate decides.",
            minimum=1, maximum=100_000),
    Setting("promote.floor_random_2p", float, 0.75, "Lowest score against random that promotes, 2 players.", minimum=0, maximum=1),
    Setting("promote.floor_heuristic_2p", float, 0.55, "Lowest score against heuristic that promotes, 2 players.", minimum=0, maximum=1),
    Setting("promote.floor_random_3p", float, 0.50, "Lowest score against random that promotes, 3 players.", minimum=0, maximum=1),
    Setting("promote.floor_heuristic_3p", float, 0.40, "Lowest score against heuristic that promotes, 3 players.", minimum=0, maximum=1),
    Setting("promote.floor_random_4p", float, 0.40, "Lowest score against random that promotes, 4 players.", minimum=0, maximum=1),
    Setting("promote.floor_heuristic_4p", float, 0.30, "Lowest score against heuristic that promotes, 4 players.", minimum=0, maximum=1),
    Setting("promote.sprt_elo0", float, 0.0, "SPRT null hypothesis: the candidate is this many Elo stronger than the best.",
            minimum=-1000, maximum=1000),
    Setting("promote.sprt_elo1", float, 50.0, "SPRT alternative: the candidate is this many Elo stronger.",
            minimum=-1000, maximum=1000),
    Setting("promote.sprt_alpha", float, 0.05, "SPRT false-promotion rate.", minimum=0.001, maximum=0.49),
    Setting("promote.sprt_beta", float, 0.05, "SPRT false-rejection rate.", minimum=0.001, maximum=0.49),
    Setting("promote.sprt_max_games", int, 200, "Head-to-head games after which an undecided SPRT rejects.",
            minimum=2, maximum=100_000),
    # -- end of the model lifecycle ---------------------------------------------------------
    Setting("status.event_rows", int, 10, "Events shown by `ringrift status`.", minimum=0, maximum=1000),
    Setting("loop.halted", bool, False, "When true, `ringrift loop tick` enqueues and dispatches nothing."),
    Setting("loop.halt_reason", str, "", "Why the loop is halted (set by `ringrift loop halt --reason`)."),
    # The loop's thresholds. Every number a loop policy compares against is one of these.
    Setting("loop.configs", str, "hex8_2p", "Config keys the loop works on, comma-separated.",
            check="config_list"),
    Setting("loop.lock_seconds", float, 600.0,
            "A tick's lock expires after this long, so a tick that died cannot block the loop.",
            minimum=10, maximum=86_400),
    Setting("loop.sync_seconds", float, 600.0,
            "A tick with hosts runs `ringrift sync` (pull their games, push best models) at most this often.",
            minimum=1, maximum=30 * 86_400),
    Setting("loop.selfplay_backlog", int, 4,
            "Selfplay jobs the loop keeps queued or running, shared across configs by the curriculum.",
            minimum=0, maximum=10_000),
    Setting("loop.selfplay_games", int, 200, "Games per selfplay job the loop enqueues.",
            minimum=1, maximum=1_000_000),
    Setting("loop.min_games", int, 5000,
            "A config with fewer recorded games than this counts as short of data (more selfplay).",
            minimum=0, maximum=100_000_000),
    Setting("loop.stale_best_seconds", float, 86_400.0,
            "A best model older than this counts as stale (more selfplay).", minimum=0, maximum=365 * 86_400),
    Setting("loop.export_min_games", int, 500, "Unexported games that trigger an export.",
            minimum=1, maximum=100_000_000),
    Setting("loop.export_max_age_seconds", float, 3600.0,
            "Export anyway once the oldest unexported games shard is this old.", minimum=0, maximum=365 * 86_400),
    Setting("loop.train_min_samples", int, 50_000, "New exported samples since the last training that trigger one.",
            minimum=1, maximum=1_000_000_000),
    Setting("backpressure.queued_soft", int, 50, "Queued jobs of one kind at which new selfplay is halved.",
            minimum=1, maximum=1_000_000),
    Setting("backpressure.queued_hard", int, 200, "Queued jobs of one kind at which new selfplay stops.",
            minimum=1, maximum=1_000_000),
    Setting("backpressure.unexported_soft", int, 5_000, "Unexported games at which new selfplay is halved.",
            minimum=1, maximum=1_000_000_000),
    Setting("backpressure.unexported_hard", int, 20_000, "Unexported games at which new selfplay stops.",
            minimum=1, maximum=1_000_000_000),
    Setting("backpressure.untrained_soft", int, 500_000,
            "Exported samples not yet trained on at which new selfplay is halved.", minimum=1, maximum=10**12),
    Setting("backpressure.untrained_hard", int, 2_000_000,
            "Exported samples not yet trained on at which new selfplay stops.", minimum=1, maximum=10**12),
    Setting("backpressure.free_gb_soft", float, 20.0, "Free GB on the data root below which new selfplay is halved.",
            minimum=0, maximum=1_000_000),
    Setting("backpressure.free_gb_hard", float, 5.0, "Free GB on the data root below which new selfplay stops.",
            minimum=0, maximum=1_000_000),
    Setting("breaker.failures", int, 3,
            "Consecutive failures of one stage kind (within breaker.window_seconds) that open its breaker.",
            minimum=1, maximum=1000),
    Setting("breaker.window_seconds", float, 3600.0,
            "Failures further apart than this do not add up to open a breaker.", minimum=1, maximum=30 * 86_400),
    Setting("breaker.cooldown_seconds", float, 600.0,
            "An open breaker lets one probe job through after this long.", minimum=1, maximum=30 * 86_400),
    Setting("retention.events_seconds", float, 14 * 86_400.0,
            "Events older than this are pruned once every event cursor has passed them.",
            minimum=3600, maximum=3650 * 86_400),
    Setting("retention.games_seconds", float, 30 * 86_400.0,
            "Games shard files are deleted once exported and older than this.", minimum=3600, maximum=3650 * 86_400),
    Setting("retention.maintenance_seconds", float, 86_400.0,
            "How often a tick prunes old events and runs PRAGMA optimize.", minimum=60, maximum=365 * 86_400),
    Setting("retention.keep_retired_models", int, 5,
            "Retired model files kept per config; older ones are deleted (their rows stay).",
            minimum=0, maximum=100_000),
    Setting("retention.max_deletions", int, 100, "Most files one tick deletes (keeps a tick short).",
            minimum=1, maximum=100_000),
)

SETTINGS_BY_KEY = {setting.key: setting for setting in SETTINGS}
MAX_TEXT_SETTING = 500

MAX_INT = 2**63 - 1  # SQLite's integers: the bound of every id, priority and claim number


def lease_bounds() -> tuple[float, float]:
    """The range of any lease, from the setting queue.lease_seconds (--lease and heartbeats too)."""
    setting = SETTINGS_BY_KEY["queue.lease_seconds"]
    return setting.minimum, setting.maximum


@dataclass(frozen=True)
class EffectiveSetting:
    setting: Setting
    value: Any
    source: str  # 'default', 'profile', 'yaml' or 'cli'


def setting_for(key: str) -> Setting:
    try:
        return SETTINGS_BY_KEY[key]
    except KeyError:
        raise UserError(f"unknown setting {key!r}; valid settings: {', '.join(SETTINGS_BY_KEY)}") from None


def default_of(key: str) -> Any:
    """The single default of a setting, for code that needs it without a Context."""
    return setting_for(key).default


def check_config_list(key: str, value: str) -> str:
    from .keys import check_config_key

    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise UserError(f"{key} needs at least one config key, e.g. hex8_2p")
    try:
        return ",".join(dict.fromkeys(check_config_key(part) for part in keys))
    except UserError as exc:
        raise UserError(f"{key}: {exc}") from None


def check_profile_name(key: str, value: str) -> str:
    if value != "default" and value not in PROFILES:
        raise UserError(f"{key} must be one of: default, {', '.join(PROFILES)}; got {value!r}")
    return value


# The network presets (ai/net.py holds their sizes; a test keeps the two lists equal).
PRESET_NAMES = ("tiny", "small", "medium", "large")


def check_preset_name(key: str, value: str) -> str:
    if value not in PRESET_NAMES:
        raise UserError(f"{key} must be one of: {', '.join(PRESET_NAMES)}; got {value!r}")
    return value


EXTRA_CHECKS = {"config_list": check_config_list, "profile_name": check_profile_name,
                "preset_name": check_preset_name}

# Named sets of values that sit between the defaults and ringrift.yaml. Every key must be a
# setting and every value must pass its checks (a test holds them to it).
PROFILES: dict[str, dict[str, Any]] = {
    "quickstart": {
        "selfplay.simulations": 16,
        "selfplay.parallel_games": 8,
        "loop.configs": "hex8_2p",
        "loop.selfplay_backlog": 1,
        "loop.selfplay_games": 32,
        "loop.export_min_games": 32,
        "loop.export_max_age_seconds": 60.0,
        "loop.train_min_samples": 2000,
        "train.preset": "small",
        "train.epochs": 4,
        "eval.games": 10,
        "eval.simulations": 16,
        "promote.min_games": 10,
        # A first model promotes once it clearly beats random; beating the hand-written
        # heuristic takes more data than a ten-minute demonstration has (the default keeps 0.55).
        "promote.floor_heuristic_2p": 0.0,
    },
}


def coerce(setting: Setting, raw: Any) -> Any:
    """Convert ``raw`` (text from the CLI, or a YAML value) to the setting's type, checking range."""
    if setting.auto and str(raw).strip().lower() == "auto":
        return "auto"
    value = _convert(setting, raw)
    if setting.check is not None:
        value = EXTRA_CHECKS[setting.check](setting.key, value)
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
    if kind is str:
        if not isinstance(raw, (str, int, float)) or len(str(raw)) > MAX_TEXT_SETTING:
            raise UserError(f"{setting.key} takes text of at most {MAX_TEXT_SETTING} characters")
        return str(raw)
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
    except RecursionError:
        raise UserError(f"{path}: nested too deeply") from None
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
    """Every setting with its effective value and source, in declaration order.

    Precedence, lowest first: the default, the profile in force, ringrift.yaml, `config set`.
    """
    profile = PROFILES.get(stored_values.get("profile", yaml_values.get("profile", "default")), {})
    effective = []
    for setting in SETTINGS:
        if setting.key in stored_values:
            effective.append(EffectiveSetting(setting, stored_values[setting.key], "cli"))
        elif setting.key in yaml_values:
            effective.append(EffectiveSetting(setting, yaml_values[setting.key], "yaml"))
        elif setting.key in profile:
            effective.append(EffectiveSetting(setting, profile[setting.key], "profile"))
        else:
            effective.append(EffectiveSetting(setting, setting.default, "default"))
    return effective
