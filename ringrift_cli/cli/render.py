"""Output helpers: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from typing import Any


def print_json(value: Any) -> None:
    """One JSON document on stdout (dataclasses become objects)."""
    sys.stdout.write(json.dumps(_plain(value), indent=2, sort_keys=True, default=str) + "\n")


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def console():
    from rich.console import Console

    return Console()


def table(title: str, columns: list[str]):
    from rich.table import Table

    result = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        result.add_column(column)
    return result


def fitted_table(title: str, columns: list[str], rows: list[list[str]], flexible: tuple[str, ...] = (),
                 width: int | None = None):
    """A table whose columns keep their whole cells on a narrow terminal; only the ``flexible``
    ones (free text such as an error) share what width is left, cut with an ellipsis."""
    from rich.table import Table

    widths = [max([len(column), *(len(row[index]) for row in rows)]) for index, column in enumerate(columns)]
    fixed = sum(w for w, column in zip(widths, columns) if column not in flexible)
    total = width if width is not None else console().width
    spare = max(0, total - fixed - 3 * len(columns) - 1)  # three border/padding cells per column
    share = max(2, spare // max(1, len(flexible)))
    result = Table(title=title, title_justify="left", expand=False)
    for column, cell_width in zip(columns, widths):
        if column in flexible:
            result.add_column(column, overflow="ellipsis", no_wrap=True, max_width=share)
        else:
            result.add_column(column, no_wrap=True, min_width=cell_width)
    for row in rows:
        result.add_row(*row)
    return result


def clock(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def age(ts: float | None, now: float | None = None) -> str:
    """'42s', '5m', '3h', '2d' since ``ts``; negative ages (future times) read 'in 5m'."""
    if ts is None:
        return "-"
    seconds = (now if now is not None else time.time()) - ts
    prefix = "in " if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{prefix}{seconds / size:.0f}{unit}"
    return f"{prefix}{seconds:.0f}s"


def remaining(until: float | None, now: float) -> str:
    """Time left until ``until``: '45s', '10m', or 'expired'."""
    if until is None:
        return "-"
    if until < now:
        return "expired"
    return age(now, until)


def short(text: str | None, width: int = 60) -> str:
    if not text:
        return ""
    line = text.strip().splitlines()[-1] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


@contextmanager
def progress_bar(label: str, unit: str, enabled: bool = True):
    """Yield a ``progress(done, total, detail)`` callback drawing a rich bar with rate and ETA."""
    if not enabled:
        yield lambda done, total, detail: None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn(unit), TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(label, total=None, detail="")

        def update(done: int, total: int, detail: str) -> None:
            bar.update(task, completed=done, total=total, detail=detail)

        yield update
