"""The network evaluator's batched arithmetic against the per-position definitions."""

from __future__ import annotations

import random

import pytest
import torch

from ringrift_cli.ai.encoding import encoder_for, move_priors
from ringrift_cli.ai.evaluators import NetEvaluator, priors_for, seat_values
from ringrift_cli.game import apply_move_inplace, initial_state, legal_moves, state_from_json, state_to_json


class FixedOutputs(torch.nn.Module):
    """A stand-in network: seeded random logits and values of the right shapes."""

    def __init__(self, config_key: str, seed: int):
        super().__init__()
        self.encoding = encoder_for(config_key)
        self.generator = torch.Generator().manual_seed(seed)
        self.outputs = []

    def forward(self, planes, globals_):
        rows = planes.shape[0]
        logits = torch.randn(rows, self.encoding.policy_size, generator=self.generator) * 4
        values = torch.tanh(torch.randn(rows, self.encoding.seats, generator=self.generator))
        self.outputs.append((logits.numpy().copy(), values.numpy().copy()))
        return logits, values


def positions(config_key: str, count: int, seed: int) -> list:
    rng = random.Random(seed)
    state = initial_state(config_key)
    out = []
    while len(out) < count:
        if state.is_over():
            state = initial_state(config_key)
        out.append(state.copy())
        moves = legal_moves(state)
        apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)
    return out


def recovery_position():
    """A recovery slide offered in several variants: index sets that share an index."""
    doc = state_to_json(initial_state("square8_2p"))
    doc.update(stacks={"6,6": [1, 2], "0,7": [1, 2]}, markers={"0,3": 1, "1,3": 1, "2,3": 1, "4,3": 1, "3,4": 1},
               rings_in_hand=[0, 16], phase="movement")
    return state_from_json(doc)


@pytest.mark.parametrize("config_key", ["square8_2p", "hex8_3p", "square8_4p"])
def test_batched_priors_and_values_equal_the_per_position_ones_bit_for_bit(config_key):
    states = positions(config_key, 150, seed=len(config_key))
    if config_key == "square8_2p":
        states.insert(40, recovery_position())
    net = FixedOutputs(config_key, seed=3)
    evaluator = NetEvaluator(net, config_key)
    shared = 0
    for start in range(0, len(states), 64):
        batch = states[start:start + 64]
        items = [evaluator.prepare(state, legal_moves(state)) for state in batch]
        results = evaluator.run(items)
        logits, values = net.outputs[-1]
        for row, (state, item, (priors, seats)) in enumerate(zip(batch, items, results)):
            expected = priors_for(logits[row], item.move_indices, move_priors)
            assert priors.dtype == expected.dtype and priors.tobytes() == expected.tobytes()
            order = tuple((state.current - 1 + k) % state.n + 1 for k in range(state.n))
            expected = seat_values(values[row], order)
            assert seats.dtype == expected.dtype and seats.tobytes() == expected.tobytes()
            shared += item.distinct is None
    assert shared or config_key != "square8_2p"  # the general rule ran beside the batched one
