"""The promotion gate: a pure function from recorded games to a decision (no I/O).

A candidate must first score at least the floor against each baseline
(``random``, ``heuristic``) over at least ``min_games`` games each; the
floors are per player count (bootstrap tier of the system this replaces).
Once a best model exists it must then pass a sequential probability ratio
test on head-to-head games against it. A game's score for the candidate
against an opponent is its mean pairwise result (win 1, draw 0.5) against
the opponent's seats; for the SPRT a 3-4 player game's score is rounded to
win, draw or loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .intervals import wilson_interval
from .ratings import Game, pair_result
from .sprt import SprtSettings, sprt

BASELINES = ("random", "heuristic")


@dataclass(frozen=True)
class GateSettings:
    floors: dict  # baseline -> lowest score that promotes
    min_games: int
    sprt: SprtSettings


@dataclass(frozen=True)
class GateDecision:
    decision: str  # 'pass', 'fail' or 'continue' (more games needed)
    reason: str
    evidence: dict
    needed: dict = field(default_factory=dict)  # opponent -> more games wanted (when continuing)


def game_score(game: Game, player: str, opponent: str) -> float | None:
    """``player``'s mean pairwise result against ``opponent``'s seats, or None if they did not both play."""
    mine = [r for p, r in zip(game.players, game.ranks) if p == player]
    theirs = [r for p, r in zip(game.players, game.ranks) if p == opponent]
    if not mine or not theirs:
        return None
    results = [pair_result(a, b) for a in mine for b in theirs]
    return sum(results) / len(results)


def scores_against(games: list[Game], player: str, opponent: str) -> list[float]:
    scores = (game_score(game, player, opponent) for game in games)
    return [s for s in scores if s is not None]


def summary(scores: list[float]) -> dict:
    points = sum(scores)
    low, high = wilson_interval(points, len(scores))
    return {"games": len(scores), "score": points / len(scores) if scores else 0.0, "low": low, "high": high,
            "wins": sum(s == 1.0 for s in scores), "draws": sum(s == 0.5 for s in scores),
            "losses": sum(s == 0.0 for s in scores)}


def decide(candidate: str, best: str | None, games: list[Game], settings: GateSettings) -> GateDecision:
    """The gate's decision for ``candidate`` from every recorded game (in the order played)."""
    evidence: dict = {"baselines": {}, "floors": dict(settings.floors), "min_games": settings.min_games}
    needed = {}
    for baseline in BASELINES:
        figures = summary(scores_against(games, candidate, baseline))
        evidence["baselines"][baseline] = figures
        if figures["games"] < settings.min_games:
            needed[baseline] = settings.min_games - figures["games"]
    for baseline in BASELINES:
        figures = evidence["baselines"][baseline]
        # Decided before min_games when even winning every remaining game cannot reach the floor.
        best_case = (figures["score"] * figures["games"] + needed.get(baseline, 0)) / max(settings.min_games,
                                                                                             figures["games"])
        if best_case < settings.floors[baseline]:
            return GateDecision("fail", f"scored {figures['score']:.2f} against {baseline} over {figures['games']} "
                                f"games: cannot reach the floor {settings.floors[baseline]:.2f}", evidence)
    if needed:
        return GateDecision("continue", "needs more games against the baselines", evidence, needed)
    for baseline in BASELINES:
        figures = evidence["baselines"][baseline]
        if figures["score"] < settings.floors[baseline]:
            return GateDecision("fail", f"scored {figures['score']:.2f} against {baseline} over {figures['games']} "
                                f"games, below the floor {settings.floors[baseline]:.2f}", evidence)
    if best is None:
        return GateDecision("pass", "cleared the baseline floors (no best model yet)", evidence)
    raw = scores_against(games, candidate, best)
    rounded = [1.0 if s > 0.5 else 0.5 if s == 0.5 else 0.0 for s in raw]
    result = sprt(rounded, settings.sprt)
    evidence["sprt"] = {**asdict(result), "opponent": best, **asdict(settings.sprt)}
    if result.decision == "continue":
        return GateDecision("continue", "SPRT undecided", evidence, {best: 1})
    if result.decision == "fail":
        missed = (f"cannot reach {result.upper:.2f} within {settings.sprt.max_games} games" if result.unreachable
                  else f"did not reach {result.upper:.2f}")
        return GateDecision("fail", f"SPRT against the best model: LLR {result.llr:.2f} after {result.games} games "
                            f"(score {result.score}/{result.games}) {missed}", evidence)
    return GateDecision("pass", f"SPRT against the best model: LLR {result.llr:.2f} >= {result.upper:.2f} after "
                        f"{result.games} games", evidence)
