"""A plugin whose selfplay finishes at once (the 'other worker' of crash tests)."""

from plugin_slow import QUICK as HANDLERS  # noqa: F401
