"""The search: batching, per-seat backup, noise and temperature."""

from __future__ import annotations

import numpy as np

from ringrift_cli.ai import mcts
from ringrift_cli.ai.evaluators import HeuristicEvaluator
from ringrift_cli.ai.mcts import Search, SearchSettings, add_root_noise, choose_move, run_simulations
from ringrift_cli.game import initial_state, legal_moves


class CountingEvaluator:
    """Uniform priors and a fixed value vector; records batch sizes."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)
        self.batches = []

    def prepare(self, state, moves):
        return np.full(len(moves), 1 / len(moves))

    def run(self, items):
        self.batches.append(len(items))
        return [(priors, self.values) for priors in items]


def test_root_gets_exactly_the_requested_visits_and_state_is_restored():
    state = initial_state("square8_2p")
    before = state.state_hash()
    search = Search(state, SearchSettings())
    run_simulations([search], HeuristicEvaluator(), 50)
    assert search.root.total == 50 and search.root.visits.sum() == 49
    assert state.state_hash() == before and search.in_flight == 0


def test_per_seat_values_back_up_to_each_movers_own_seat():
    evaluator = CountingEvaluator([0.2, -0.6, 0.9])
    search = Search(initial_state("hex8_3p"), SearchSettings())
    run_simulations([search], evaluator, 40)
    root = search.root
    visited = root.visits > 0
    # The root mover is seat 1: its edges hold seat 1's value, whatever the others get.
    assert np.allclose(root.value_sums[visited] / root.visits[visited], 0.2)
    assert np.allclose(root.mean_values(), [0.2, -0.6, 0.9])
    child = next(c for c in root.children if c is not None and c.moves and c.visits.sum() > 0)
    seen = child.visits > 0
    assert np.allclose(child.value_sums[seen] / child.visits[seen], evaluator.values[child.mover - 1])


def test_many_games_share_batches_and_virtual_loss_fills_them():
    evaluator = CountingEvaluator([0.0, 0.0])
    searches = [Search(initial_state("square8_2p"), SearchSettings()) for _ in range(4)]
    run_simulations(searches, evaluator, 1)
    assert evaluator.batches == [4]
    evaluator.batches.clear()
    run_simulations(searches, evaluator, 33, batch_size=16)
    assert all(search.root.total == 33 for search in searches)
    assert max(evaluator.batches) == 16 and sum(evaluator.batches) == 4 * 32


def test_root_noise_changes_priors_but_keeps_a_distribution():
    search = Search(initial_state("square8_2p"), SearchSettings(dirichlet_fraction=0.25))
    run_simulations([search], HeuristicEvaluator(), 1)
    before = search.root.priors.copy()
    add_root_noise(search.root, search.settings, np.random.default_rng(1))
    assert not np.allclose(before, search.root.priors)
    assert abs(search.root.priors.sum() - 1) < 1e-9


def test_temperature_zero_takes_most_visited_and_one_samples():
    visits = np.array([1.0, 10.0, 3.0])
    rng = np.random.default_rng(0)
    assert {choose_move(visits, 0.0, rng) for _ in range(50)} == {1}
    picks = [choose_move(visits, 1.0, rng) for _ in range(400)]
    assert set(picks) == {0, 1, 2} and picks.count(1) > picks.count(2) > picks.count(0)


def test_search_prefers_a_winning_capture_over_heuristic_noise():
    # With enough visits the search concentrates on few moves: it is not uniform.
    state = initial_state("square8_2p")
    search = Search(state, SearchSettings())
    run_simulations([search], HeuristicEvaluator(), 200)
    visits = search.root.visits
    assert visits.max() > 3 * visits.mean()
    assert len(legal_moves(state)) == len(visits)


def test_overlapped_halves_reach_the_same_visit_counts():
    evaluator = CountingEvaluator([0.1, -0.1])
    searches = [Search(initial_state("hex8_2p"), SearchSettings()) for _ in range(6)]
    evaluations = run_simulations(searches, evaluator, 40, batch_size=8, overlap=True)
    assert all(s.root.total == 40 and s.in_flight == 0 for s in searches)
    assert evaluations == sum(evaluator.batches) == 6 * 40
    assert max(evaluator.batches) <= 8 + 2


def expanded_nodes(node):
    yield node
    for child in node.children:
        if child is not None and child.moves:
            yield from expanded_nodes(child)


def test_kept_exploration_and_value_vectors_equal_the_puct_formula_after_a_search():
    # The search keeps q and the exploration weight current edge by edge (visits, virtual
    # losses, backups, root noise); recomputed from the counts they must agree exactly.
    searches = [Search(initial_state(key), SearchSettings()) for key in ("square8_2p", "hex8_3p")]
    run_simulations(searches, HeuristicEvaluator(), 1)
    for search in searches:
        add_root_noise(search.root, search.settings, np.random.default_rng(2))
    run_simulations(searches, HeuristicEvaluator(), 60, batch_size=6)
    checked = 0
    for search in searches:
        c_puct = search.settings.c_puct
        for node in expanded_nodes(search.root):
            visits, sums = node.visits, node.value_sums
            seen = visits > 0
            assert np.array_equal(node.q[seen], sums[seen] / visits[seen])
            assert np.all(node.q[~seen] == node.fpu)
            for index, child in enumerate(node.children):
                assert visits[index] == (child.total if child is not None else 0)
            scores = c_puct * node.priors / (visits + 1.0) * np.sqrt(node.total + 1) + node.q
            assert Search.pick_child(node) == int(scores.argmax())
            checked += 1
    assert checked > 20


def test_results_do_not_depend_on_how_many_positions_the_search_keeps(monkeypatch):
    # Leaves start from the deepest position kept on their path; any start gives the same leaf.
    def search_with(kept_cells):
        monkeypatch.setattr(mcts, "KEPT_CELLS", kept_cells)
        searches = [Search(initial_state(key), SearchSettings()) for key in ("square8_2p", "hex8_3p")]
        run_simulations(searches, HeuristicEvaluator(), 50, batch_size=4)
        for search in searches:
            search.advance(int(search.root.visits.argmax()))
        run_simulations(searches, HeuristicEvaluator(), 80, batch_size=4)
        return [(s.root.visits.tolist(), s.root.value_sums.tolist(), s.root.mean_values().tolist()) for s in searches]

    assert search_with(0) == search_with(1 << 10) == search_with(1 << 30)
