from __future__ import annotations

import json

import pytest

from ringrift_testing import run_cli
from ringrift_cli.errors import UserError
from ringrift_cli.settings import SETTINGS, coerce, setting_for


def effective(home_result):
    assert home_result.exit_code == 0, home_result.output
    return {row["key"]: row for row in json.loads(home_result.output)}


def test_every_setting_has_one_default_of_its_type_and_help():
    keys = [s.key for s in SETTINGS]
    assert len(keys) == len(set(keys))
    for setting in SETTINGS:
        assert setting.help
        assert coerce(setting, setting.default) == setting.default


def test_config_show_names_the_source_of_each_value(home):
    (home / "ringrift.yaml").write_text("queue.max_attempts: 5\nqueue.lease_seconds: 120\n")
    run_cli("config", "set", "queue.lease_seconds", "90")
    rows = effective(run_cli("config", "show", "--json"))
    assert (rows["queue.max_attempts"]["value"], rows["queue.max_attempts"]["source"]) == (5, "yaml")
    assert (rows["queue.lease_seconds"]["value"], rows["queue.lease_seconds"]["source"]) == (90.0, "cli")
    assert rows["queue.backoff_max_seconds"]["source"] == "default"
    run_cli("config", "unset", "queue.lease_seconds")
    rows = effective(run_cli("config", "show", "--json"))
    assert (rows["queue.lease_seconds"]["value"], rows["queue.lease_seconds"]["source"]) == (120.0, "yaml")


def test_config_set_changes_what_the_queue_uses(home):
    run_cli("config", "set", "queue.max_attempts", "7")
    added = json.loads(run_cli("queue", "add", "train", "hex8_2p", "--json").output)
    assert added["max_attempts"] == 7


def test_bool_setting_accepts_words():
    halted = setting_for("loop.halted")
    assert coerce(halted, "yes") is True and coerce(halted, "off") is False
    with pytest.raises(UserError):
        coerce(halted, "maybe")


def test_invalid_yaml_setting_is_reported_with_file(home):
    (home / "ringrift.yaml").write_text("queue.max_attempts: -2\n")
    result = run_cli("config", "show")
    assert result.exit_code == 2 and "ringrift.yaml" in result.output and "at least 1" in result.output


def test_setting_change_is_an_event(home):
    run_cli("config", "set", "loop.halted", "true")
    status = json.loads(run_cli("status", "--json").output)
    assert status["events"][0]["type"] == "setting_changed"
    assert status["events"][0]["payload"] == {"key": "loop.halted", "value": True, "previous": None}
    assert status["changed_settings"] == [{"key": "loop.halted", "value": True, "source": "cli"}]


@pytest.mark.parametrize("content", [b"queue.max_attempts: [\n", b"\xff\xfe\x00", b"- just\n- a list\n"])
def test_unreadable_settings_file_is_one_clear_line(home, content):
    (home / "ringrift.yaml").write_bytes(content)
    result = run_cli("config", "show")
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "ringrift.yaml" in result.output


def test_every_profile_value_is_a_valid_setting_value():
    from ringrift_cli.settings import PROFILES, coerce, setting_for

    for profile in PROFILES.values():
        for key, value in profile.items():
            assert coerce(setting_for(key), value) == value


def test_a_profile_sits_between_the_defaults_and_yaml_and_cli():
    from ringrift_cli.settings import PROFILES, resolve_settings

    key, value = next(iter(PROFILES["quickstart"].items()))
    by_key = {e.setting.key: e for e in resolve_settings({}, {"profile": "quickstart"})}
    assert (by_key[key].value, by_key[key].source) == (value, "profile")
    by_key = {e.setting.key: e for e in resolve_settings({key: value}, {"profile": "quickstart"})}
    assert by_key[key].source == "yaml"
    by_key = {e.setting.key: e for e in resolve_settings({"profile": "quickstart"}, {})}
    assert by_key[key].source == "profile"
    assert {e.source for e in resolve_settings({}, {})} == {"default"}


def test_an_unknown_profile_is_refused():
    import pytest

    from ringrift_cli.errors import UserError
    from ringrift_cli.settings import coerce, setting_for

    with pytest.raises(UserError, match="quickstart"):
        coerce(setting_for("profile"), "turbo")


def test_preset_names_are_the_networks_presets():
    from ringrift_cli.ai.net import PRESETS
    from ringrift_cli.settings import PRESET_NAMES

    assert set(PRESET_NAMES) == set(PRESETS)
