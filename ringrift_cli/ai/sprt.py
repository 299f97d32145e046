"""The sequential probability ratio test of a candidate against the current best (pure; no I/O).

H0: the candidate is ``elo0`` stronger than the best; H1: ``elo1`` stronger
(elo1 > elo0). Each game is a Bernoulli trial on the candidate's score, a
draw counting as half a win and half a loss. After every game the
log-likelihood ratio

    LLR = W ln(p1 / p0) + L ln((1 - p1) / (1 - p0)),  p = 1 / (1 + 10^(-elo / 400))

is compared with Wald's bounds ln(beta / (1 - alpha)) and ln((1 - beta) / alpha).
Reaching ``max_games`` undecided counts as a failure: the candidate has not
shown that it is stronger. So the test fails as soon as even winning every
game left before ``max_games`` could not lift the LLR to the upper bound:
the decision is the one the remaining games would reach, without playing
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SprtSettings:
    elo0: float
    elo1: float
    alpha: float
    beta: float
    max_games: int

    def __post_init__(self):
        if not self.elo1 > self.elo0:
            raise ValueError(f"SPRT needs elo1 > elo0, got {self.elo0} and {self.elo1}")
        if not (0 < self.alpha < 0.5 and 0 < self.beta < 0.5):
            raise ValueError("SPRT alpha and beta must lie in (0, 0.5)")


@dataclass(frozen=True)
class SprtResult:
    decision: str  # 'pass' (H1 accepted), 'fail' (H0 accepted or max games), 'continue'
    llr: float
    lower: float
    upper: float
    games: int
    score: float  # the candidate's points (win 1, draw 0.5)
    unreachable: bool = False  # failed early: the upper bound is out of reach within max_games


def expected_score(elo: float) -> float:
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


def bounds(alpha: float, beta: float) -> tuple[float, float]:
    return math.log(beta / (1.0 - alpha)), math.log((1.0 - beta) / alpha)


def log_likelihood_ratio(points: float, games: int, elo0: float, elo1: float) -> float:
    p0, p1 = expected_score(elo0), expected_score(elo1)
    losses = games - points
    return points * math.log(p1 / p0) + losses * math.log((1.0 - p1) / (1.0 - p0))


def sprt(scores: list[float], settings: SprtSettings) -> SprtResult:
    """Run the test over the candidate's per-game scores in the order played; stop at the
    first bound crossed, or once the upper bound is out of reach within ``max_games`` (later
    games do not change a decision already reached)."""
    lower, upper = bounds(settings.alpha, settings.beta)
    per_win = math.log(expected_score(settings.elo1) / expected_score(settings.elo0))
    points, llr = 0.0, 0.0
    for games, score in enumerate(scores[: settings.max_games], start=1):
        if score not in (0.0, 0.5, 1.0):
            raise ValueError(f"a game score is 0, 0.5 or 1, got {score}")
        points += score
        llr = log_likelihood_ratio(points, games, settings.elo0, settings.elo1)
        if llr >= upper:
            return SprtResult("pass", llr, lower, upper, games, points)
        if llr <= lower:
            return SprtResult("fail", llr, lower, upper, games, points)
        if llr + (settings.max_games - games) * per_win < upper:
            return SprtResult("fail", llr, lower, upper, games, points, unreachable=True)
    games = min(len(scores), settings.max_games)
    decision = "fail" if games >= settings.max_games else "continue"
    return SprtResult(decision, llr, lower, upper, games, points)
