"""Elo ratings by maximum-likelihood Bradley-Terry over recorded games (pure; no I/O).

A game is a finishing order: each participant's rank (1 = first; equal
ranks are a draw between them). Games of 3-4 players are split into every
pair of seats, each pair weighted 1/(n-1) so that one game carries the
evidence of one two-player game per seat. The likelihood is maximised as a
whole (Newton's method), so the result does not depend on the order in which
games were played, unlike sequential K-factor updates.

The scale is Elo's: P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400)). The
anchor (``random``) is pinned; every other participant also gets
``prior_draws`` virtual draws against the anchor, so that an unbeaten (or
winless) record has a finite rating; with no other evidence a participant
then sits at the anchor. Intervals are 95% Wald intervals from the observed
information (the anchor's is zero: it is pinned).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .intervals import Z95

ANCHOR = "random"
ANCHOR_ELO = 400.0  # random's pinned rating, as in the system this replaces
ELO_PER_NAT = 400.0 / math.log(10.0)


@dataclass(frozen=True)
class Game:
    """One finished game: the participant in each seat and its finishing rank."""

    players: tuple[str, ...]
    ranks: tuple[int, ...]


@dataclass(frozen=True)
class Rating:
    player: str
    elo: float
    low: float
    high: float
    games: int


def pairwise_results(game: Game) -> list[tuple[str, str, float, float]]:
    """(a, b, a's score in {0, 0.5, 1}, weight) for every pair of seats held by different players."""
    n = len(game.players)
    if n < 2 or len(game.ranks) != n:
        raise ValueError(f"a game needs >= 2 seats with one rank each, got {game}")
    weight = 1.0 / (n - 1)
    pairs = []
    for i in range(n):
        for j in range(i + 1, n):
            a, b = game.players[i], game.players[j]
            if a == b:
                continue  # a player against itself says nothing about its strength
            ra, rb = game.ranks[i], game.ranks[j]
            pairs.append((a, b, pair_result(ra, rb), weight))
    return pairs


def pair_result(rank: int, other: int) -> float:
    """One seat's result against another from their finishing ranks: 1 ahead, 0.5 tied, 0 behind."""
    return 1.0 if rank < other else 0.5 if rank == other else 0.0


def fit_ratings(games: list[Game], *, anchor: str = ANCHOR, anchor_elo: float = ANCHOR_ELO,
                prior_draws: float = 1.0, iterations: int = 100) -> dict[str, Rating]:
    """Ratings of every participant of ``games`` (plus the anchor), by maximum likelihood."""
    counts: dict[str, int] = {anchor: 0}
    pairs = []
    for game in games:
        for player in set(game.players):
            counts[player] = counts.get(player, 0) + 1
        pairs.extend(pairwise_results(game))
    players = sorted(counts, key=lambda p: (p != anchor, p))
    index = {p: k for k, p in enumerate(players)}
    for player in players[1:]:
        if prior_draws > 0:
            pairs.append((player, anchor, 0.5, prior_draws))
    a = np.array([index[p[0]] for p in pairs], dtype=np.int64)
    b = np.array([index[p[1]] for p in pairs], dtype=np.int64)
    score = np.array([p[2] for p in pairs], dtype=np.float64)
    weight = np.array([p[3] for p in pairs], dtype=np.float64)
    theta = np.zeros(len(players))  # natural log-strength, anchor at 0
    info = np.zeros((len(players), len(players)))
    for _ in range(iterations if len(players) > 1 else 0):
        grad, info = _gradient_and_information(theta, a, b, score, weight, len(players))
        free = slice(1, None)
        try:
            step = np.linalg.solve(info[free, free], grad[free])
        except np.linalg.LinAlgError:
            raise ValueError("ratings are not identifiable: some participant is not connected to the anchor") from None
        theta[free] += np.clip(step, -5.0, 5.0)
        if np.max(np.abs(step)) < 1e-10:
            break
    _, info = _gradient_and_information(theta, a, b, score, weight, len(players))
    covariance = np.linalg.inv(info[1:, 1:]) if len(players) > 1 else np.zeros((0, 0))
    ratings = {}
    for k, player in enumerate(players):
        elo = anchor_elo + theta[k] * ELO_PER_NAT
        half = 0.0 if k == 0 else Z95 * math.sqrt(max(covariance[k - 1, k - 1], 0.0)) * ELO_PER_NAT
        ratings[player] = Rating(player, elo, elo - half, elo + half, counts[player])
    return ratings


def _gradient_and_information(theta, a, b, score, weight, size):
    p = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))  # P(a beats b)
    residual = weight * (score - p)
    grad = np.zeros(size)
    np.add.at(grad, a, residual)
    np.add.at(grad, b, -residual)
    w = weight * p * (1.0 - p)
    info = np.zeros((size, size))
    np.add.at(info, (a, a), w)
    np.add.at(info, (b, b), w)
    np.add.at(info, (a, b), -w)
    np.add.at(info, (b, a), -w)
    return grad, info
