"""Exceptions raised by the rules engine.

Every error the engine raises on bad input derives from ``GameError``;
the ones about a bad name also derive from ``ValueError``.
"""


class GameError(Exception):
    """Base class of every rules-engine error."""


class UnknownConfigError(GameError, ValueError):
    """A config key that is not one of ``CONFIG_KEYS``; the message lists them."""


class UnknownBoardError(GameError, ValueError):
    """A board type that is not one of ``BOARD_TYPES``."""


class IllegalMoveError(GameError, ValueError):
    """A move that the rules do not allow in the given state."""


class FormatError(GameError, ValueError):
    """A state or move document that cannot be read (missing or bad fields)."""


class UnreadableInputError(GameError):
    """A file given to the replay checker that is neither a vector bundle,
    a game record nor an ``initial_state`` + ``moves`` object."""
