"""What the search asks at a leaf: move priors and per-seat values.

An evaluator works in two steps so that many games can share one network
call: ``prepare(state, moves)`` runs while the leaf position is set up (it
may read the state, which changes afterwards) and returns an opaque item;
``run(items)`` turns a batch of items into ``(priors over moves, values per
seat)`` pairs. Values are in absolute seat order (index 0 = seat 1), in
[-1, 1]. An evaluator whose priors cost far more than its values (the
heuristic's) returns None for the priors and gives them on request through
``priors(state, moves)``, which the search calls only for the positions it
goes on to descend through.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from ..game import GameState, Move
from ..game.boards import board_for
from .encoding import encode_state, encoder_for, indices_for_moves, move_priors
from .heuristic import evaluate, move_values


class Evaluator(Protocol):
    def prepare(self, state: GameState, moves: list[Move]) -> object: ...

    def run(self, items: list[object]) -> list[tuple[np.ndarray, np.ndarray]]: ...


# Early values of moves differ by a few hundredths (spread ~0.05): at 0.05 a move 0.1 better gets
# e^2 the prior, and one that wins outright (+1) dwarfs the rest.
PRIOR_TEMPERATURE = 0.05
# Among moves of equal value the prior leans, by at most this many logits, to the one whose
# destination is the more open cell (more of the board along its lines of movement). Many moves
# tie exactly one ply on (three rings placed on this empty cell or that one), and two searches of
# one position each drew their root candidates from such ties at random: they chose the same move
# 69% of the time, 88% with the lean (docs/benchmarks.md). 0.05 logits is a value difference of
# 0.0025, below any that the evaluation means. Put into the value instead (a cap's worth growing
# with its cell's openness), it changed every evaluation in the tree and lost more games to random.
OPEN_CELL_LOGIT = 0.05


def heuristic_priors(state: GameState, moves: list[Move], temperature: float) -> np.ndarray:
    """Softmax of the mover's evaluation after each move (``state`` is left as it was), leaning
    slightly to open destination cells where values tie."""
    if len(moves) == 1:
        return np.ones(1)
    scores = np.asarray(move_values(state, moves))
    logits = (scores - scores.max()) / temperature + OPEN_CELL_LOGIT * destination_openness(state, moves)
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def destination_openness(state: GameState, moves: list[Move]) -> np.ndarray:
    """Per move, the openness of the cell it lands on (0 for a move with none, e.g. a territory choice)."""
    return openness_by_destination(state.board.board_type)[[move.to for move in moves]]


@lru_cache(maxsize=None)
def openness_by_destination(board_type: str) -> np.ndarray:
    """``cell_openness`` with one more entry, 0, for the destination -1 of a move that lands nowhere.
    Read-only."""
    table = np.append(cell_openness(board_type), 0.0)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=None)
def cell_openness(board_type: str) -> np.ndarray:
    """Per cell, the cells along its lines of movement up to the edge, as a fraction of the most that
    any cell of the board has (1.0 at the centre). Read-only."""
    counts = np.array([sum(len(ray) for ray in rays) for rays in board_for(board_type).rays], dtype=np.float64)
    table = counts / counts.max()
    table.flags.writeable = False
    return table


class HeuristicEvaluator:
    """No network: the hand-written evaluation as the value, and as the prior a softmax over the
    evaluation of each move's result for the mover (one ply), so that a few dozen simulations go
    to the moves the evaluator likes rather than spread evenly over 135 placements. The prior
    evaluates every move, so it is given only when asked for (``priors``)."""

    name = "heuristic"

    def __init__(self, temperature: float = PRIOR_TEMPERATURE):
        self.temperature = temperature

    def prepare(self, state: GameState, moves: list[Move]) -> object:
        return None, np.asarray(evaluate(state), dtype=np.float64)

    def priors(self, state: GameState, moves: list[Move]) -> np.ndarray:
        """The prior over ``moves`` from ``state`` (which is left as it was)."""
        return heuristic_priors(state, moves, self.temperature)

    def run(self, items: list[object]) -> list[tuple[np.ndarray, np.ndarray]]:
        return items  # already computed in prepare


class RandomEvaluator:
    """No knowledge at all: uniform priors and even values; only finished games inform the search."""

    name = "random"

    def prepare(self, state: GameState, moves: list[Move]) -> object:
        return np.full(len(moves), 1.0 / len(moves)), np.zeros(state.n)

    def run(self, items: list[object]) -> list[tuple[np.ndarray, np.ndarray]]:
        return items


@dataclass(slots=True)
class _NetItem:
    planes: np.ndarray
    globals: np.ndarray
    move_indices: list[tuple[int, ...]]
    seat_order: tuple[int, ...]  # absolute seat of each value output (mover first)
    # The moves' indices when each move has one index of its own (the usual case, whose
    # softmax ``run`` does for the whole batch at once), else None.
    distinct: list[int] | None


class NetEvaluator:
    """A torch network: batched forward, softmax over the legal moves' policy indices."""


    def __init__(self, net, config_key: str, device: str = "cpu"):
        import torch

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

    def __getstate__(self) -> dict:
        # A child process gets its own copy of the network, its weights as numpy arrays: torch's
        # own pickling of tensors for a child process shares them through file descriptors (or, on
        # an accelerator, IPC handles) that must outlive the child's start, and a copy made here
        # would not. The torch module itself is re-imported.
        state = {key: value for key, value in self.__dict__.items() if key not in ("torch", "net")}
        weights = {name: tensor.detach().cpu().numpy() for name, tensor in self.net.state_dict().items()}
        state["net"] = (self.net.shape, self.net.preset, weights)
        return state

    def __setstate__(self, state: dict) -> None:
        import torch

        from .net import RingRiftNet

        torch.set_flush_denormal(True)
        shape, preset, weights = state.pop("net")
        net = RingRiftNet(shape, preset)
        net.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
        self.__dict__.update(state, torch=torch, net=net.to(state["device"]).eval())

    def prepare(self, state: GameState, moves: list[Move]) -> _NetItem:
        return net_item(state, moves)

    def run(self, items: list[_NetItem]) -> list[tuple[np.ndarray, np.ndarray]]:
        logits, values = self.forward(*stack_items(items))
        return net_results(logits, values, items)

    def forward(self, planes: np.ndarray, globals_: np.ndarray,
                take: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(policy logits, mover-first values) of a batch of encoded positions; with ``take`` (flat
        offsets into the logits), only those logits, gathered where the network ran."""
        torch = self.torch
        planes = torch.from_numpy(planes).to(self.device)
        globals_ = torch.from_numpy(globals_).to(self.device)
        with torch.inference_mode():
            logits, values = self.net(planes, globals_)
            if take is not None:
                logits = logits.reshape(-1)[torch.from_numpy(take).to(self.device)]
        return logits.float().cpu().numpy(), values.float().cpu().numpy()


def net_item(state: GameState, moves: list[Move]) -> _NetItem:
    """A leaf encoded for the network (what ``NetEvaluator.prepare`` returns)."""
    planes, globals_ = encode_state(state)
    # ``moves`` is the leaf's full legal list: the indices need not generate it again.
    index_sets = indices_for_moves(state, moves, legal=moves)
    return _NetItem(planes, globals_, index_sets, _seat_order(state.n, state.current), _distinct(index_sets))


def stack_items(items: list[_NetItem]) -> tuple[np.ndarray, np.ndarray]:
    """The batch's planes and globals as two arrays."""
    # np.concatenate and a reshape: np.stack costs twice as much on this many small arrays.
    count = len(items)
    planes = np.concatenate([item.planes for item in items]).reshape((count,) + items[0].planes.shape)
    globals_ = np.concatenate([item.globals for item in items]).reshape(count, -1)
    return planes, globals_


def net_results(logits: np.ndarray, values: np.ndarray, items: list[_NetItem]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each item's (priors over its moves, values per absolute seat) from the network's outputs."""
    priors = _batch_priors(logits, items)
    for row, item in enumerate(items):
        if priors[row] is None:
            priors[row] = move_priors(logits[row], item.move_indices)
    return list(zip(priors, _batch_seat_values(values, items)))


def priors_for(logits: np.ndarray, index_sets: list[tuple[int, ...]], general) -> np.ndarray:
    """Softmax over the moves' indices: a direct path for the usual one-distinct-index-per-move case,
    the encoding's general rule (shared and multiple indices) otherwise. (``NetEvaluator.run``
    computes the same, bit for bit, for a whole batch.)"""
    flat = _distinct(index_sets)
    if flat is not None:
        chosen = logits[flat].astype(np.float64)
        weights = np.exp(chosen - chosen.max())
        return weights / weights.sum()
    return general(logits, index_sets)


def _distinct(index_sets: list[tuple[int, ...]]) -> list[int] | None:
    """The single index of each move when every move has one and no two share it, else None."""
    try:
        flat = [index for (index,) in index_sets]
    except ValueError:  # a move with several indices
        return None
    return flat if flat and len(set(flat)) == len(flat) else None


def _batch_priors(logits: np.ndarray, items: list[_NetItem]) -> list:
    """``priors_for`` of every item on the direct path, in a few numpy calls for the whole batch;
    None for the others.

    Bit for bit the per-row computation: gathering, the maxima, subtracting and
    ``np.exp`` work element by element, and each row's sum is still its own
    ``.sum()`` (numpy's pairwise order; ``np.add.reduceat`` adds in another order)."""
    rows = [row for row, item in enumerate(items) if item.distinct is not None]
    out: list = [None] * len(items)
    if not rows:
        return out
    width = logits.shape[1]
    wanted: list = []
    counts = []
    for row in rows:
        flat = items[row].distinct
        wanted += flat
        counts.append(len(flat))
    offsets = np.repeat(np.asarray(rows, dtype=np.int64) * width, counts)
    offsets += wanted
    chosen = logits.ravel().take(offsets).astype(np.float64)
    ends = np.cumsum(counts).tolist()
    starts = [0] + ends[:-1]
    chosen -= np.repeat(np.maximum.reduceat(chosen, starts), counts)
    weights = np.exp(chosen)
    sums = [weights[a:b].sum() for a, b in zip(starts, ends)]
    weights /= np.repeat(sums, counts)
    for row, a, b in zip(rows, starts, ends):
        out[row] = weights[a:b]
    return out


def _batch_seat_values(relative: np.ndarray, items: list[_NetItem]) -> list[np.ndarray]:
    """``seat_values`` of every row: one gather puts each row's outputs in absolute seat order."""
    order = np.asarray([_seat_gather(item.seat_order) for item in items], dtype=np.int64)
    return list(np.take_along_axis(relative, order, axis=1).astype(np.float64))


def seat_values(relative: np.ndarray, seat_order: tuple[int, ...]) -> np.ndarray:
    """Network values (mover first) re-ordered to absolute seats 1..N (``NetEvaluator.run``
    does it for a whole batch)."""
    values = np.zeros(len(seat_order))
    for k, seat in enumerate(seat_order):
        values[seat - 1] = relative[k]
    return values


@lru_cache(maxsize=None)
def _seat_order(n: int, mover: int) -> tuple[int, ...]:
    """The absolute seat of each network value output (the mover first)."""
    return tuple((mover - 1 + k) % n + 1 for k in range(n))


@lru_cache(maxsize=None)
def _seat_gather(seat_order: tuple[int, ...]) -> tuple[int, ...]:
    """For each absolute seat, the output that holds its value (``seat_order`` inverted)."""
    where = [0] * len(seat_order)
    for k, seat in enumerate(seat_order):
        where[seat - 1] = k
    return tuple(where)
