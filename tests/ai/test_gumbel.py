"""Gumbel root search: the budget, sequential halving, the improved policy."""

from __future__ import annotations

import numpy as np

from ringrift_cli.ai.batch_search import pick_move, root_policy, search_positions
from ringrift_cli.ai.evaluators import HeuristicEvaluator
from ringrift_cli.ai.gumbel import completed_values, improved_policy
from ringrift_cli.ai.mcts import Search, SearchSettings
from ringrift_cli.game import initial_state, legal_moves


class MoveValueEvaluator:
    """Flat priors; +0.8 for seat 1 once it has a stack or a marker (a stack moved away leaves one) on
    one chosen cell, else 0."""

    def __init__(self, good_cell):
        self.good_cell = good_cell

    def prepare(self, state, moves):
        good = state.ctrl[self.good_cell] == 1 or state.marker[self.good_cell] == 1
        return np.full(len(moves), 1 / len(moves)), np.array([0.8, -0.8] if good else [0.0, 0.0])

    def run(self, items):
        return items


def test_the_budget_is_spent_by_sequential_halving_over_the_top_k():
    settings = SearchSettings(simulations=64, gumbel=True, gumbel_k=16)
    search = Search(initial_state("hex8_2p"), settings, np.random.default_rng(1))
    search_positions([search], HeuristicEvaluator(), settings, noise=[np.random.default_rng(2)])
    visits = search.root.visits
    assert visits.sum() == 64 and np.count_nonzero(visits) == 16
    # Halving: the survivors of later rounds hold more visits than the moves dropped after the first.
    assert sorted(visits[visits > 0])[-1] >= 4 * sorted(visits[visits > 0])[0]
    assert visits[search.root_choice] == visits.max()


def test_improved_policy_moves_mass_to_the_better_moves_and_is_the_target():
    state = initial_state("square8_2p")
    moves = legal_moves(state)
    cell = moves[len(moves) // 2].to
    good = [k for k, m in enumerate(moves) if m.kind == "place_ring" and m.to == cell]
    settings = SearchSettings(simulations=400, gumbel=True, gumbel_k=len(moves))
    search = Search(state, settings, np.random.default_rng(0))
    search_positions([search], MoveValueEvaluator(cell), settings)
    policy = root_policy(search)
    assert abs(policy.sum() - 1) < 1e-9 and np.allclose(policy, improved_policy(search.root, settings))
    # The placements on that cell (one to three rings) lead to the +0.8 positions; flat priors gave them 3/192.
    assert policy[good].sum() > 0.9
    assert search.root_choice in good and pick_move(search, 0.0, np.random.default_rng(0)) in good


def test_unvisited_moves_take_the_mixed_value_of_the_root():
    settings = SearchSettings(simulations=8, gumbel=True, gumbel_k=4)
    search = Search(initial_state("hex8_2p"), settings, np.random.default_rng(0))
    search_positions([search], HeuristicEvaluator(), settings)
    root = search.root
    values = completed_values(root)
    seen = root.visits > 0
    assert np.allclose(values[seen], root.value_sums[seen] / root.visits[seen])
    assert np.allclose(values[~seen], values[~seen][0])  # one v_mix for all of them
    low, high = min(root.value, values[seen].min()), max(root.value, values[seen].max())
    assert low - 1e-9 <= values[~seen][0] <= high + 1e-9


def test_noise_varies_the_choice_and_no_noise_repeats_it():
    settings = SearchSettings(simulations=16, gumbel=True)

    def choose(noise_seed):
        search = Search(initial_state("hex8_2p"), settings, np.random.default_rng(0))
        noise = None if noise_seed is None else [np.random.default_rng(noise_seed)]
        search_positions([search], HeuristicEvaluator(), settings, noise=noise)
        return search.root_choice

    assert len({choose(seed) for seed in range(12)}) > 3
    assert choose(None) == choose(None)


def test_every_budget_is_spent_exactly():
    for simulations, k in ((1, 16), (5, 16), (16, 16), (17, 4), (100, 16), (64, 200)):
        settings = SearchSettings(simulations=simulations, gumbel=True, gumbel_k=k)
        search = Search(initial_state("hex8_2p"), settings, np.random.default_rng(0))
        search_positions([search], HeuristicEvaluator(), settings)
        assert search.root.visits.sum() == simulations, (simulations, k)
