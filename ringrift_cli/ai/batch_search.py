"""Searching the current positions of many games at once: the step selfplay and the arena share.

Every search gets ``settings.simulations`` simulations (a subtree kept from
the previous move counts towards them) with one leaf per game per evaluator
call, so a game's search does not depend on which other games share its
batches: game i plays the same whatever else is in flight, and a resumed
run replays it.
"""

from __future__ import annotations

import numpy as np

from .evaluators import Evaluator
from .mcts import Search, SearchSettings, add_root_noise, run_simulations


def search_positions(searches: list[Search], evaluator: Evaluator, settings: SearchSettings,
                     noise: list[np.random.Generator] | None = None) -> int:
    """Search every position; with ``noise`` (one generator per search) each new root is noised
    once before its simulations. Returns the evaluations made."""
    evaluations = 0
    if noise is not None:
        fresh = [search for search in searches if search.root is None]
        if fresh:
            evaluations += run_simulations(fresh, evaluator, 1)  # expand the roots to noise them
        for search, rng in zip(searches, noise):
            if search.noised_root is not search.root:
                add_root_noise(search.root, settings, rng)
                search.noised_root = search.root
    # The root's own evaluation is a visit of the root but not a simulation: N simulations
    # give N visits to the root's moves (and 1 simulation still a distribution to record).
    evaluations += run_simulations(searches, evaluator, settings.simulations + 1,
                                   overlap=getattr(evaluator, "overlaps", False))
    return evaluations
