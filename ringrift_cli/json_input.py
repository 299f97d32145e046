"""Reading JSON that comes from outside (a --result, a rules-check file) within fixed bounds.

Size, nesting depth and number length are capped, and NaN, Infinity and
numbers too large for a float are refused, so that no document can exhaust
memory or the stack, or come back out as non-standard JSON.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .errors import UserError

MAX_BYTES = 16 * 2**20  # a long recorded game is well under 1 MB
MAX_DEPTH = 64  # the deepest document ringrift writes is under 10 levels
MAX_DIGITS = 50  # longest number literal


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of {len(text)} digits (at most {MAX_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise ValueError(f"a number of {len(text)} characters (at most {MAX_DIGITS})")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a number")
    return value


def _constant(name: str):
    raise ValueError(f"{name} is not JSON")


def depth_of(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (without recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads(text: str | bytes, what: str) -> Any:
    """Parse ``text`` as bounded JSON; UserError naming ``what`` otherwise."""
    if len(text) > MAX_BYTES:
        raise UserError(f"{what} is {len(text)} bytes; at most {MAX_BYTES} are read")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise UserError(f"{what} nests more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{what} is not valid JSON: {str(exc)[:200]}") from None
    if depth_of(value) > MAX_DEPTH:
        raise UserError(f"{what} nests more than {MAX_DEPTH} levels deep")
    return value


def load_file(path: Path, what: str | None = None) -> Any:
    """Bounded JSON from a file; UserError for a missing, unreadable or oversized one."""
    what = what or str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}" if what == str(path) else
                        f"{what} cannot be read: {exc.strerror or exc}") from None
    return loads(data, what)


def loads_object(text: str, what: str) -> dict:
    value = loads(text, what)
    if not isinstance(value, dict):
        raise UserError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value
