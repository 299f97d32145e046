"""Circuit breakers, one row per scope ('stage:train', 'host:gpu1').

closed: work flows. After ``threshold`` consecutive failures the breaker
opens until ``retry_at``; then it is half-open, and the next success closes
it while the next failure opens it again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .db import Store, now
from .events import append_event


@dataclass(frozen=True)
class Breaker:
    scope: str
    state: str
    failures: int
    last_error: str | None
    opened_at: float | None
    retry_at: float | None
    updated_at: float

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Breaker":
        return cls(**dict(row))

    def effective_state(self, at: float) -> str:
        """'half_open' once an open breaker's retry time has come."""
        if self.state == "open" and self.retry_at is not None and at >= self.retry_at:
            return "half_open"
        return self.state


def record_failure(store: Store, scope: str, error: str, *, threshold: int, cooldown_seconds: float) -> Breaker:
    """Count a failure in ``scope``; open the breaker when the count reaches ``threshold``."""
    with store.write() as conn:
        at = now()
        conn.execute(
            "INSERT INTO breakers (scope, failures, last_error, updated_at) VALUES (?, 1, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET failures = failures + 1,"
            " last_error = excluded.last_error, updated_at = excluded.updated_at",
            (scope, error, at),
        )
        breaker = Breaker.from_row(conn.execute("SELECT * FROM breakers WHERE scope = ?", (scope,)).fetchone())
        reopening = breaker.effective_state(at) == "half_open"
        if breaker.failures >= threshold and (breaker.state == "closed" or reopening):
            row = conn.execute(
                "UPDATE breakers SET state = 'open', opened_at = ?, retry_at = ? WHERE scope = ? RETURNING *",
                (at, at + cooldown_seconds, scope),
            ).fetchone()
            breaker = Breaker.from_row(row)
            append_event(conn, "breaker_opened", {"scope": scope, "failures": breaker.failures,
                                                  "retry_at": breaker.retry_at, "error": error}, at=at)
        return breaker


def record_success(store: Store, scope: str) -> None:
    """A success closes the breaker and clears its failure count."""
    with store.write() as conn:
        row = conn.execute("SELECT state FROM breakers WHERE scope = ?", (scope,)).fetchone()
        if row is None:
            return
        conn.execute(
            "UPDATE breakers SET state = 'closed', failures = 0, opened_at = NULL, retry_at = NULL,"
            " updated_at = ? WHERE scope = ?",
            (now(), scope),
        )
        if row["state"] != "closed":
            append_event(conn, "breaker_closed", {"scope": scope})


def list_breakers(store: Store) -> list[Breaker]:
    return [Breaker.from_row(row) for row in store.read("SELECT * FROM breakers ORDER BY scope")]
