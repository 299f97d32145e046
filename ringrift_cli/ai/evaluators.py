"""What the search asks at a leaf: move priors and per-seat values.

An evaluator works in two steps so that many games can share one network
call: ``prepare(state, moves)`` runs while the leaf position is set up (it
may read the state, which changes afterwards) and returns an opaque item;
``run(items)`` turns a batch of items into ``(priors over moves, values per
seat)`` pairs. Values are in absolute seat order (index 0 = seat 1), in
[-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..game import GameState, Move
from .heuristic import evaluate


class Evaluator(Protocol):
    def prepare(self, state: GameState, moves: list[Move]) -> object: ...

    def run(self, items: list[object]) -> list[tuple[np.ndarray, np.ndarray]]: ...


class HeuristicEvaluator:
    """No network: uniform priors and the hand-written evaluation (for bootstrapping)."""

    name = "heuristic"

    def prepare(self, state: GameState, moves: list[Move]) -> object:
        return np.full(len(moves), 1.0 / len(moves)), np.asarray(evaluate(state), dtype=np.float64)

    def run(self, items: list[object]) -> list[tuple[np.ndarray, np.ndarray]]:
        return items  # already computed in prepare


class RandomEvaluator:
    """No knowledge at all: uniform priors and even values; only finished games inform the search."""

    name = "random"

    def prepare(self, state: GameState, moves: list[Move]) -> object:
        return np.full(len(moves), 1.0 / len(moves)), np.zeros(state.n)

    def run(self, items: list[object]) -> list[tuple[np.ndarray, np.ndarray]]:
        return items


@dataclass
class _NetItem:
    planes: np.ndarray
    globals: np.ndarray
    move_indices: list[tuple[int, ...]]
    seat_order: tuple[int, ...]  # absolute seat of each value output (mover first)


class NetEvaluator:
    """A torch network: batched forward, softmax over the legal moves' policy indices."""


    def __init__(self, net, config_key: str, device: str = "cpu"):
        import torch

        from .encoding import encoder_for

        # Tiny activations of a barely trained net turn denormal and make CPU convolutions
        # up to 30x slower; flushing them to zero changes no decision.
        torch.set_flush_denormal(True)
        self.torch = torch
        self.net = net.to(device).eval()
        # On an accelerator the forward pass runs beside the interpreter, so the search
        # selects the next leaves meanwhile; on a 2-core CPU the two fought over the
        # cores and lost 25% (benchmarks/selfplay_bench.py), so there they alternate.
        self.overlaps = str(device) != "cpu"
        self.device = device
        self.encoding = encoder_for(config_key)
        self.name = "net"

    def prepare(self, state: GameState, moves: list[Move]) -> _NetItem:
        from .encoding import encode_state, indices_for_moves

        planes, globals_ = encode_state(state)
        n = state.n
        order = tuple((state.current - 1 + k) % n + 1 for k in range(n))
        return _NetItem(planes, globals_, indices_for_moves(state, moves), order)

    def run(self, items: list[_NetItem]) -> list[tuple[np.ndarray, np.ndarray]]:
        torch = self.torch
        planes = torch.from_numpy(np.stack([item.planes for item in items])).to(self.device)
        globals_ = torch.from_numpy(np.stack([item.globals for item in items])).to(self.device)
        with torch.inference_mode():
            logits, values = self.net(planes, globals_)
        from .encoding import move_priors

        logits = logits.float().cpu().numpy()
        values = values.float().cpu().numpy()
        results = []
        for row, item in enumerate(items):
            results.append((priors_for(logits[row], item.move_indices, move_priors),
                            seat_values(values[row], item.seat_order)))
        return results


def priors_for(logits: np.ndarray, index_sets: list[tuple[int, ...]], general) -> np.ndarray:
    """Softmax over the moves' indices: a direct path for the usual one-distinct-index-per-move case,
    the encoding's general rule (shared and multiple indices) otherwise."""
    flat = [group[0] for group in index_sets if len(group) == 1]
    if len(flat) == len(index_sets) and len(set(flat)) == len(flat):
        chosen = logits[flat].astype(np.float64)
        weights = np.exp(chosen - chosen.max())
        return weights / weights.sum()
    return general(logits, index_sets)


def seat_values(relative: np.ndarray, seat_order: tuple[int, ...]) -> np.ndarray:
    """Network values (mover first) re-ordered to absolute seats 1..N."""
    values = np.zeros(len(seat_order))
    for k, seat in enumerate(seat_order):
        values[seat - 1] = relative[k]
    return values
