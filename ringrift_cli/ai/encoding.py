"""What the network sees: a game state as planes and global features, seen
from the side to move, plus the policy space and symmetries it is trained
with (re-exported from ``policy_space`` and ``symmetry``).

``ENCODER_VERSION`` names this layout. Models and data shards record it
(``BoardEncoding.metadata()``); reading one with another version is an
error (``check_metadata``). Any change to planes, globals, the policy space
or the symmetries bumps it.

Seats. N = the config's player count. Seat slot j (0..N-1) is the player
j seats after the mover in turn order: slot 0 is the mover, slot 1 the
next player, and so on, so 3-4 player games keep who sits where.

Planes, float32 [5N + 4, H, W] (grid: ``policy_space.Grid``; square boards
row y, column x; hex boards the cube (x, y) shifted by the radius). Heights
are divided by S = the longest ray on the board (7, 18, 8, 24), so a value
above 1 means "cannot move". For seat slot j, planes 5j..5j+4:

    5j+0  stack height / S where slot j controls the stack
    5j+1  cap height / S where slot j controls the stack
    5j+2  rings of slot j below the top cap (buried) / S, on any stack
    5j+3  1 where slot j has a marker
    5j+4  1 where the cell is collapsed territory of slot j

then the shared planes:

    5N+0  1 on board cells (all ones on square boards; the hexagon on hex)
    5N+1  1 on empty cells (no stack, marker or collapse)
    5N+2  1 on the stack the mover must move this turn (after a placement)
    5N+3  1 on the stack a capture continues from (capture / chain capture)

Globals, float32 [8N + 22]. For seat slot j, entries 7j..7j+6:

    7j+0  rings in hand / rings per player
    7j+1  rings eliminated (credited) / ring-elimination threshold
    7j+2  territory / territory minimum
    7j+3  rings of the seat's colour on the board / rings per player
    7j+4  markers on the board / cells
    7j+5  1 if the seat still owns a ring anywhere
    7j+6  1 if the seat is the exclusive player of the last-player-standing count

then, from G0 = 7N:

    G0+0..6    phase one-hot: ring_placement, movement, capture,
               chain_capture, line_processing, territory_processing,
               forced_elimination (all zero once the game is over)
    G0+7       a placement fixed the stack to move this turn
    G0+8       a capture may continue (capture / chain_capture)
    G0+9       a line elimination (one ring) is owed
    G0+10      a territory self-elimination (a cap) is owed
    G0+11      a recovery-context elimination (a buried ring) is owed
    G0+12      the mover has made a non-bookkeeping move this turn
    G0+13      this turn contained a recovery slide
    G0+14      the pie rule is on and unused (2 players)
    G0+15      seats were swapped by the pie rule
    G0+16..    the mover's absolute seat, one-hot over N
    G1 = G0+16+N:
    G1+0       line length / 4
    G1+1       ring-elimination threshold / all rings in the game
    G1+2       territory minimum / cells
    G1+3       rings per player / cells
    G1+4       moves played / move cap (at most 1)
    G1+5       consecutive last-player-standing rounds / rounds needed (at most 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ..game import GameState, board_for, parse_config_key
from ..game.moves import PHASES
from ..game.state import RECOVERY_OWED, TERR_OWED
from .policy_space import (
    EXTRA_TYPES,
    Grid,
    PolicyLayout,
    grid_for,
    indices_for_moves,
    layout_for,
    move_for_indices,
    move_indices,
    move_priors,
    moves_for_index,
    policy_target,
)
from .symmetry import (
    Symmetry,
    symmetries,
    transform_indices,
    transform_move,
    transform_planes,
    transform_policy,
    transform_state,
)

ENCODER_VERSION = 1

SEAT_PLANES = 5
SHARED_PLANES = 4
SEAT_GLOBALS = 7
SHARED_GLOBALS = 22  # plus N for the mover's seat
PHASE_ORDER = PHASES[:7]  # game_over encodes as no phase

__all__ = [
    "ENCODER_VERSION",
    "EXTRA_TYPES",
    "BoardEncoding",
    "EncodingMismatchError",
    "Grid",
    "PolicyLayout",
    "Symmetry",
    "check_metadata",
    "encode_state",
    "encoder_for",
    "grid_for",
    "indices_for_moves",
    "layout_for",
    "move_for_indices",
    "move_indices",
    "move_priors",
    "moves_for_index",
    "policy_target",
    "symmetries",
    "transform_indices",
    "transform_move",
    "transform_planes",
    "transform_policy",
    "transform_state",
]


class EncodingMismatchError(ValueError):
    """A model or shard written with another encoding than this one."""


@dataclass(frozen=True)
class BoardEncoding:
    """The shapes of one config key's encoding; what a network must fit."""

    config_key: str
    board_type: str
    seats: int
    version: int
    planes: int
    height: int
    width: int
    globals: int
    policy_channels: int
    policy_extra: int
    policy_size: int

    def metadata(self) -> dict:
        """What models and shards record about their encoding."""
        return asdict(self)


def check_metadata(meta: dict, config_key: str) -> None:
    """Raise EncodingMismatchError unless ``meta`` (from ``metadata()``)
    describes exactly this build's encoding of ``config_key``."""
    mine = encoder_for(config_key).metadata()
    diffs = [f"{k}: {meta.get(k)!r} != {v!r}" for k, v in mine.items() if meta.get(k) != v]
    if diffs:
        raise EncodingMismatchError(f"encoding mismatch for {config_key}: " + "; ".join(diffs))


@lru_cache(maxsize=None)
def encoder_for(config_key: str) -> BoardEncoding:
    """The encoding of a config key (``"square8_2p"``); UnknownConfigError
    for anything else."""
    board_type, n = parse_config_key(config_key)
    grid = grid_for(board_type)
    layout = layout_for(board_type)
    return BoardEncoding(
        config_key=config_key,
        board_type=board_type,
        seats=n,
        version=ENCODER_VERSION,
        planes=SEAT_PLANES * n + SHARED_PLANES,
        height=grid.height,
        width=grid.width,
        globals=SEAT_GLOBALS * n + SHARED_GLOBALS + n,
        policy_channels=layout.channels,
        policy_extra=layout.extra,
        policy_size=layout.size,
    )


@dataclass(frozen=True, eq=False)
class _Tables:
    flat_array: np.ndarray
    valid: np.ndarray  # float32 [H*W]
    scale: float  # 1 / longest ray


@lru_cache(maxsize=None)
def _tables(board_type: str) -> _Tables:
    grid = grid_for(board_type)
    return _Tables(grid.flat_array, grid.valid.astype(np.float32), 1.0 / layout_for(board_type).max_distance)


def encode_state(state: GameState) -> tuple[np.ndarray, np.ndarray]:
    """(planes float32 [C, H, W], globals float32 [G]) of ``state`` seen by
    the player to move (module docstring for the layout)."""
    enc = encoder_for(f"{state.board.board_type}_{state.n}p")
    return _planes(state, enc), _globals(state, enc)


def _planes(s: GameState, enc: BoardEncoding) -> np.ndarray:
    t = _tables(enc.board_type)
    n = s.n
    flat = t.flat_array
    scale = t.scale
    slot = _seat_plane(n, s.current)
    out = np.zeros((enc.planes, enc.height * enc.width), dtype=np.float32)
    # bytes() of a list of small ints is the cheapest way into numpy.
    ctrl = np.frombuffer(bytes(s.ctrl), dtype=np.uint8)
    stacks = ctrl.nonzero()[0]
    if stacks.size:
        cells = stacks.tolist()
        height = s.height
        cap = s.cap
        where = flat[stacks]
        base = slot[ctrl[stacks]]
        out[base, where] = np.asarray([height[c] for c in cells], dtype=np.float32) * scale
        out[base + 1, where] = np.asarray([cap[c] for c in cells], dtype=np.float32) * scale
        rings = s.rings
        rows: list = []
        cols: list = []
        counts: list = []
        for c in cells:
            extra = height[c] - cap[c]
            if extra:
                below = rings[c][:extra]
                for q in set(below):
                    rows.append(q)
                    cols.append(c)
                    counts.append(below.count(q))
        if rows:
            out[slot[rows] + 2, flat[cols]] = np.asarray(counts, dtype=np.float32) * scale
    marker = np.frombuffer(bytes(s.marker), dtype=np.uint8)
    owned = marker.nonzero()[0]
    if owned.size:
        out[slot[marker[owned]] + 3, flat[owned]] = 1.0
    collapsed = np.frombuffer(bytes(s.collapsed), dtype=np.uint8)
    owned = collapsed.nonzero()[0]
    if owned.size:
        out[slot[collapsed[owned]] + 4, flat[owned]] = 1.0
    shared = SEAT_PLANES * n
    out[shared] = t.valid
    out[shared + 1, flat[(np.frombuffer(bytes(s.occ), dtype=np.uint8) == 0).nonzero()[0]]] = 1.0
    if s.must_move >= 0:
        out[shared + 2, flat[s.must_move]] = 1.0
    if s.chain_pos >= 0:
        out[shared + 3, flat[s.chain_pos]] = 1.0
    return out.reshape(enc.planes, enc.height, enc.width)


@lru_cache(maxsize=None)
def _seat_plane(n: int, mover: int) -> np.ndarray:
    """First plane of each colour's seat slot (index 0 = no colour: unused)."""
    return np.asarray([0] + [(p - mover) % n for p in range(1, n + 1)], dtype=np.int64) * SEAT_PLANES


@lru_cache(maxsize=None)
def _constants(params) -> tuple:
    board = board_for(params.board_type)
    n = params.players
    return (
        1.0 / params.rings_per_player,
        1.0 / max(params.victory_threshold, 1),
        1.0 / max(params.territory_minimum, 1),
        1.0 / board.cells,
        [
            params.line_length / 4.0,
            params.victory_threshold / (params.rings_per_player * n),
            params.territory_minimum / board.cells,
            params.rings_per_player / board.cells,
        ],
    )


def _globals(s: GameState, enc: BoardEncoding) -> np.ndarray:
    n = s.n
    mover = s.current
    params = s.params
    per_ring, per_elim, per_terr, per_cell, config = _constants(params)
    g = []
    for j in range(n):
        p = (mover - 1 + j) % n + 1
        g += (
            s.hand[p] * per_ring,
            s.elim[p] * per_elim,
            s.territory[p] * per_terr,
            s.on_board[p] * per_ring,
            s.marker_count[p] * per_cell,
            1.0 if s.hand[p] > 0 or s.on_board[p] > 0 else 0.0,
            1.0 if s.lps_excl == p else 0.0,
        )
    phase = s.phase
    g += [1.0 if phase == name else 0.0 for name in PHASE_ORDER]
    g += (
        float(s.must_move >= 0),
        float(s.chain_pos >= 0),
        float(bool(s.pending_line)),
        float(s.pending_terr == TERR_OWED),
        float(s.pending_terr == RECOVERY_OWED),
        float(bool(s.acted)),
        float(bool(s.had_recovery)),
        float(bool(s.options.swap_rule) and n == 2 and not s.swapped),
        float(bool(s.swapped)),
    )
    g += [1.0 if p == mover else 0.0 for p in range(1, n + 1)]
    g += config
    g.append(min(s.ply / max(params.move_cap, 1), 1.0))
    g.append(min(s.lps_count / max(s.options.lps_rounds, 1), 1.0))
    return np.asarray(g, dtype=np.float32)
