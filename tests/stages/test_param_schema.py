"""The job param schema: one declaration per kind, checked at every way a job enters the queue."""

from __future__ import annotations

import json

import pytest

from ringrift_cli.errors import UserError
from ringrift_cli.keys import STAGES
from ringrift_cli.settings import setting_for
from ringrift_cli.stages.param_schema import SCHEMAS, check_params, param_for, parse_params, resolve_params
from ringrift_cli.store import queue as q
from ringrift_testing import run_cli


def test_every_stage_has_a_schema_and_every_number_has_an_upper_bound():
    assert set(SCHEMAS) == set(STAGES)
    for kind, params in SCHEMAS.items():
        for param in params:
            if param.value_type() in (int, float):
                low, high = param.bounds()
                assert low is not None and high is not None, (kind, param.name)


def test_a_param_with_a_setting_default_takes_the_settings_range():
    sims = param_for("selfplay", "sims")
    assert sims.bounds() == (setting_for("selfplay.simulations").minimum,
                                    setting_for("selfplay.simulations").maximum)
    with pytest.raises(UserError, match="sims must be 1 to 100000"):
        check_params("selfplay", {"sims": 100_001})


@pytest.mark.parametrize("raw", ["NaN", "nan", "inf", "-Infinity", "abc", "1.5", "0", "9" * 30, "9" * 5000,
                                 "[" * 5000, "", "true"])
def test_bad_typed_values_are_refused_in_one_short_line(raw):
    with pytest.raises(UserError) as refused:
        parse_params("selfplay", [f"games={raw}"])
    message = str(refused.value)
    assert "games" in message and "\n" not in message and len(message) < 200


def test_values_are_read_as_the_params_type():
    assert parse_params("selfplay", ["games=2.0", "model=123", "dirichlet_fraction=1", "device=cuda:1"]) == {
        "games": 2, "model": "123", "dirichlet_fraction": 1.0, "device": "cuda:1"}


@pytest.mark.parametrize("params", [{"x": 1}, {"games": True}, {"games": float("nan")}, {"model": 5},
                                    {"device": "cpu; rm -rf /"}, {"model": "a\nb"}, {"model": "m" * 201}])
def test_the_library_enqueue_checks_params_too(store, params):
    with pytest.raises(UserError):
        q.enqueue(store, q.JobSpec("selfplay", "hex8_2p", params=params))
    assert q.list_jobs(store) == []


def test_kinds_without_params_refuse_any():
    with pytest.raises(UserError, match="sync takes no param 'preset'; valid params: none"):
        check_params("sync", {"preset": "small"})


@pytest.mark.parametrize("kind, params", [("train", {"lr": float("nan")}), ("train", {"preset": "huge"}),
                                          ("train", {"from": "../x"}), ("eval", {"games": 0}),
                                          ("eval", {"opponents": "random,,x"}), ("promote", {"model": "best"})])
def test_lifecycle_kinds_check_their_params(kind, params):
    with pytest.raises(UserError):
        check_params(kind, params)


def test_resolve_fills_settings_and_fixed_defaults():
    values = resolve_params("selfplay", {"games": 3}, lambda key: f"<{key}>")
    assert values["games"] == 3 and values["model"] == "best" and values["seed"] is None
    assert values["sims"] == "<selfplay.simulations>"


@pytest.mark.parametrize("args", [
    ["queue", "add", "selfplay", "hex8_2p", "--param", "games=NaN"],
    ["queue", "add", "selfplay", "hex8_2p", "--param", "unknown=1"],
    ["queue", "add", "export", "hex8_2p", "--param", "max_samples=" + "9" * 25],
    ["selfplay", "hex8_2p", "--games", "99999999999999999999999"],
    ["selfplay", "hex8_2p", "--device", "$(reboot)"],
    ["export", "hex8_2p", "--max-samples", "0"],
])
def test_every_cli_entry_point_refuses_before_anything_is_stored(ctx, args):
    result = run_cli(*args)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert q.list_jobs(ctx.store) == []


def test_queue_ls_json_stays_standard_json(ctx):
    run_cli("queue", "add", "selfplay", "hex8_2p", "--param", "c_puct=2.5")
    listed = run_cli("queue", "ls", "--json").output
    json.loads(listed, parse_constant=lambda name: pytest.fail(f"{name} in queue ls --json"))


def test_stage_help_comes_from_the_schema():
    text = run_cli("selfplay", "--help").output
    assert "1 to 100000" in text and "setting selfplay.simulations" in text and "2^62" in text
    assert "9223372036854775807" not in text
