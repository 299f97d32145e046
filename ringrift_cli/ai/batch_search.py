"""Searching the current positions of many games at once: the step selfplay and the arena share.

Every search gets ``settings.simulations`` simulations with one leaf per
game per evaluator call, so a game's search does not depend on which other
games share its batches: game i plays the same whatever else is in flight,
and a resumed run replays it. The root is searched by Gumbel sequential
halving or by PUCT (``settings.gumbel``); ``root_policy`` and ``pick_move``
read the result the same way for both.
"""

from __future__ import annotations

import numpy as np

from .evaluators import Evaluator
from .gumbel import gumbel_search, improved_policy
from .mcts import Search, SearchSettings, add_root_noise, choose_move, run_simulations


def search_positions(searches: list[Search], evaluator: Evaluator, settings: SearchSettings,
                     noise: list[np.random.Generator] | None = None) -> int:
    """Search every position; ``noise`` (one generator or None per search) draws the Gumbel noise, or
    the Dirichlet noise mixed once into each new PUCT root. Returns the evaluations made."""
    if settings.gumbel:
        gumbels = noise if noise is not None else [None] * len(searches)
        return gumbel_search(searches, evaluator, settings.simulations, settings.gumbel_k, gumbels)
    evaluations = 0
    if noise is not None:
        fresh = [search for search in searches if search.root is None]
        if fresh:
            evaluations += run_simulations(fresh, evaluator, 1)  # expand the roots to noise them
        for search, rng in zip(searches, noise):
            if rng is not None and search.noised_root is not search.root:
                search.root_priors(evaluator)
                add_root_noise(search.root, settings, rng)
                search.noised_root = search.root
    # The root's own evaluation is a visit of the root but not a simulation: N simulations
    # give N visits to the root's moves (and 1 simulation still a distribution to record).
    evaluations += run_simulations(searches, evaluator, settings.simulations + 1,
                                   overlap=getattr(evaluator, "overlaps", False))
    return evaluations


def root_policy(search: Search) -> np.ndarray:
    """The policy target over the root's moves: the improved policy (Gumbel) or the visit fractions."""
    root = search.root
    if search.settings.gumbel:
        return improved_policy(root, search.settings)
    visits = root.visits
    return visits / visits.sum()


def pick_move(search: Search, temperature: float, rng: np.random.Generator) -> int:
    """The root move to play: the Gumbel search's choice (its noise is the exploration), or by visits
    at ``temperature``, ties to the better value, then at random."""
    if search.settings.gumbel:
        return search.root_choice
    root = search.root
    return choose_move(root.visits, temperature, rng, root.q)
