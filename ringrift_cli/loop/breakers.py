"""Circuit breakers per stage kind, as a pure function of the job outcomes the loop has read.

closed --(breaker.failures consecutive failures, each within breaker.window_seconds of the
last)--> open --(breaker.cooldown_seconds)--> half_open: one probe job may run;
its success closes the breaker, its failure opens it again for another cool-down.
"""

from __future__ import annotations

from dataclasses import replace

from ..store.breakers import Breaker
from ..store.events import Event
from .actions import SetBreaker
from .knobs import LoopSettings

FAILURE_EVENTS = ("job_failed", "job_lease_expired")
TRANSITION_EVENTS = {"open": "breaker_opened", "half_open": "breaker_half_open", "closed": "breaker_closed"}
OUTCOME_EVENTS = ("job_completed", *FAILURE_EVENTS)


def stage_scope(kind: str) -> str:
    return f"stage:{kind}"


def fresh(scope: str) -> Breaker:
    return Breaker(scope, "closed", 0, None, None, None, 0.0)


def _after_outcome(state: Breaker, event: Event, knobs: LoopSettings) -> Breaker:
    at = event.created_at
    if event.type == "job_completed":
        return replace(state, state="closed", failures=0, last_error=None, opened_at=None, retry_at=None,
                       updated_at=at)
    error = event.payload.get("error") or "lease expired"
    probing = state.effective_state(at) == "half_open"
    if probing:
        return replace(state, state="open", failures=state.failures + 1, last_error=error, opened_at=at,
                       retry_at=at + knobs.breaker_cooldown_seconds, updated_at=at)
    if state.state == "open":
        return replace(state, failures=state.failures + 1, last_error=error, updated_at=at)
    recent = state.failures > 0 and at - state.updated_at <= knobs.breaker_window_seconds
    failures = state.failures + 1 if recent else 1
    if failures >= knobs.breaker_failures:
        return replace(state, state="open", failures=failures, last_error=error, opened_at=at,
                       retry_at=at + knobs.breaker_cooldown_seconds, updated_at=at)
    return replace(state, state="closed", failures=failures, last_error=error, opened_at=None, retry_at=None,
                   updated_at=at)


def breaker_actions(breakers: dict[str, Breaker], outcomes: tuple[Event, ...], knobs: LoopSettings,
                    now: float) -> tuple[list[SetBreaker], dict[str, str]]:
    """Fold the outcomes into each stage's breaker; return the rows to write and each
    stage scope's state after this tick."""
    states = dict(breakers)
    before = {scope: state.state for scope, state in states.items()}
    changed = set()
    for event in outcomes:
        if event.type not in OUTCOME_EVENTS:
            continue
        # A job that failed but will be retried still counts: the stage is failing.
        scope = stage_scope(event.payload["kind"])
        states[scope] = _after_outcome(states.get(scope) or fresh(scope), event, knobs)
        changed.add(scope)
    for scope, state in states.items():
        if state.state == "open" and state.effective_state(now) == "half_open":
            states[scope] = replace(state, state="half_open", updated_at=now)
            changed.add(scope)
    actions = []
    for scope in sorted(changed):
        state = states[scope]
        event = None
        if state.state != before.get(scope, "closed") or (state.state == "open" and scope in before
                                                           and state.opened_at != breakers[scope].opened_at):
            event = TRANSITION_EVENTS[state.state]
        reason = {"open": f"{state.failures} failures, last: {state.last_error}",
                  "half_open": "cool-down over: one probe job may run",
                  "closed": "a job succeeded" if before.get(scope, "closed") != "closed" or state.failures == 0
                  else f"{state.failures} recent failure(s)"}[state.state]
        actions.append(SetBreaker(state, event, reason))
    return actions, {scope: state.state for scope, state in states.items()}
