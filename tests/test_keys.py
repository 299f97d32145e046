"""The fixed vocabularies are defined once and agree with the engine."""

from ringrift_cli import keys
from ringrift_cli.game import CONFIG_KEYS
from ringrift_cli.game.boards import BOARD_TYPES


def test_the_engine_uses_the_one_list_of_config_keys():
    assert CONFIG_KEYS is keys.CONFIG_KEYS
    assert BOARD_TYPES == keys.BOARDS and len(CONFIG_KEYS) == 12
