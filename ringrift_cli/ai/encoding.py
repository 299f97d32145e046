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

# 2: policy targets are a Gumbel search's improved policy, and shards mark searched samples
# (``searched``, ``policy_weight``).
ENCODER_VERSION = 2

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


def encode_state(state: GameState) -> tuple[np.ndarray, np.ndarray]:
    """(planes float32 [C, H, W], globals float32 [G]) of ``state`` seen by
    the player to move (module docstring for the layout)."""
    enc = _encoding_of(state.board.board_type, state.n)
    return _planes(state, enc), _globals(state, enc)


@lru_cache(maxsize=None)
def _encoding_of(board_type: str, n: int) -> BoardEncoding:
    # Keyed by the parts, not the config key, to spare formatting that key at every search leaf.
    return encoder_for(f"{board_type}_{n}p")


# The search encodes one position per leaf, so ``_planes`` is a hot path: rather than a
# numpy call per plane family, each cell's facts are laid out as bytes in five sections
# and a single scatter writes them. A section writes every cell once, into the plane its
# code selects. A cell without the fact writes 0.0 into a plane that is 0.0 there anyway
# (a cell without a stack has height and cap 0 and writes them into plane 0 and 1, the
# mover's, where only the mover's stacks are), the sections' planes are disjoint, so no
# two writes meet and the result equals writing the non-zero entries alone.
# bytes.translate adds each section's offset to its codes: a C loop, far cheaper than a
# numpy call on so few cells (so is bytearray() of a list, unlike bytes()).
_SECTIONS = 5  # stack height, cap height, marker, collapse (by owner), emptiness (occupancy)
_CODES = 8  # room for every code of a section: owners 0..4, occupancy 0..3
_BINARY = 256 - 3 * _CODES  # value codes of markers, collapses and occupancy; heights stay below


def _shift(offset: int) -> bytes:
    return bytes((code + offset) % 256 for code in range(256))


_PLANE_SHIFTS = tuple(_shift(k * _CODES) for k in range(_SECTIONS))
_VALUE_SHIFTS = tuple(_shift(_BINARY + k * _CODES) for k in range(3))


@dataclass(frozen=True, eq=False)
class _Scatter:
    template: np.ndarray  # float32 [planes * area]: zero but the board-cell plane
    plane_at: tuple  # per mover: int64 [sections * codes], the flat start of the plane a (section, code) writes
    values: np.ndarray  # float32 [256]: height * scale below _BINARY, then 0/1 per marker, collapse, occupancy
    flat: np.ndarray  # int64 [sections * T]: each cell's grid position, once per section
    cell_flat: tuple  # each cell's grid position
    seat_plane: tuple  # per mover: ``_seat_plane`` as a list
    scale: float  # 1 / longest ray
    area: int


@lru_cache(maxsize=None)
def _scatter(board_type: str, n: int) -> _Scatter:
    grid = grid_for(board_type)
    area = grid.area
    scale = 1.0 / layout_for(board_type).max_distance
    shared = SEAT_PLANES * n
    template = np.zeros((shared + SHARED_PLANES, area), dtype=np.float32)
    template[shared] = grid.valid
    plane_at = [None]
    for mover in range(1, n + 1):
        slot = _seat_plane(n, mover).tolist()
        table = np.zeros((_SECTIONS, _CODES), dtype=np.int64)
        for code in range(n + 1):
            table[0:4, code] = [slot[code], slot[code] + 1, slot[code] + 3, slot[code] + 4]
        table[4] = shared + 1
        plane_at.append((table * area).ravel())
    # The same float32 products as scaling a float32 array of heights.
    values = np.arange(256, dtype=np.float32) * scale
    binary = np.zeros((3, _CODES), dtype=np.float32)
    binary[0:2, 1:] = 1.0  # any owner
    binary[2, 0] = 1.0  # occupancy EMPTY
    values[_BINARY:] = binary.ravel()
    return _Scatter(
        template.ravel(), tuple(plane_at), values, np.tile(grid.flat_array, _SECTIONS), grid.flat,
        (None,) + tuple(_seat_plane(n, mover).tolist() for mover in range(1, n + 1)), scale, area,
    )


def _planes(s: GameState, enc: BoardEncoding) -> np.ndarray:
    t = _scatter(enc.board_type, s.n)
    height = s.height
    cap = s.cap
    ctrl = bytearray(s.ctrl)
    marker = bytearray(s.marker)
    collapsed = bytearray(s.collapsed)
    occ = bytearray(s.occ)
    shift = _PLANE_SHIFTS
    codes = (ctrl + ctrl.translate(shift[1]) + marker.translate(shift[2]) + collapsed.translate(shift[3])
             + occ.translate(shift[4]))
    where = t.plane_at[s.current].take(np.frombuffer(codes, np.uint8))
    where += t.flat
    shift = _VALUE_SHIFTS
    facts = marker.translate(shift[0]) + collapsed.translate(shift[1]) + occ.translate(shift[2])
    out = t.template.copy()
    if s.params.rings_per_player * s.n < _BINARY:  # no stack can reach the value codes of markers
        out[where] = t.values.take(np.frombuffer(bytearray(height) + bytearray(cap) + facts, np.uint8))
    else:  # a raised ring supply: heights scaled as they come
        sizes = np.asarray(height + cap, dtype=np.float32) * t.scale
        out[where] = np.concatenate([sizes, t.values.take(np.frombuffer(facts, np.uint8))])
    if height != cap:  # some stack holds rings below its cap
        slot = t.seat_plane[s.current]
        flat = t.cell_flat
        area = t.area
        rings = s.rings
        spots: list = []
        counts: list = []
        for stacks in s.stacks_of:
            for c in stacks:
                extra = height[c] - cap[c]
                if extra:
                    below = rings[c][:extra]
                    for q in set(below):
                        spots.append((slot[q] + 2) * area + flat[c])
                        counts.append(below.count(q))
        out[spots] = np.asarray(counts, dtype=np.float32) * t.scale
    if s.must_move >= 0:
        out[(SEAT_PLANES * s.n + 2) * t.area + t.cell_flat[s.must_move]] = 1.0
    if s.chain_pos >= 0:
        out[(SEAT_PLANES * s.n + 3) * t.area + t.cell_flat[s.chain_pos]] = 1.0
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


@lru_cache(maxsize=None)
def _seat_slots(n: int, mover: int) -> tuple:
    """The absolute seat in each seat slot (slot 0 = the mover)."""
    return tuple((mover - 1 + j) % n + 1 for j in range(n))


@lru_cache(maxsize=None)
def _mover_one_hot(n: int, mover: int) -> tuple:
    return tuple(1.0 if p == mover else 0.0 for p in range(1, n + 1))


_PHASE_ONE_HOT = {name: tuple(1.0 if other == name else 0.0 for other in PHASE_ORDER) for name in PHASE_ORDER}
_NO_PHASE = (0.0,) * len(PHASE_ORDER)
_last_constants: tuple = (None, None)  # (params, _constants(params)): hashing GameParams costs more than the rest


def _globals(s: GameState, enc: BoardEncoding) -> np.ndarray:
    global _last_constants
    n = s.n
    mover = s.current
    params = s.params
    last = _last_constants
    if last[0] is not params:
        last = _last_constants = (params, _constants(params))
    per_ring, per_elim, per_terr, per_cell, config = last[1]
    hand = s.hand
    elim = s.elim
    territory = s.territory
    on_board = s.on_board
    marker_count = s.marker_count
    lps_excl = s.lps_excl
    g: list = []
    for p in _seat_slots(n, mover):
        g += (
            hand[p] * per_ring,
            elim[p] * per_elim,
            territory[p] * per_terr,
            on_board[p] * per_ring,
            marker_count[p] * per_cell,
            1.0 if hand[p] > 0 or on_board[p] > 0 else 0.0,
            1.0 if lps_excl == p else 0.0,
        )
    g += _PHASE_ONE_HOT.get(s.phase, _NO_PHASE)
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
    g += _mover_one_hot(n, mover)
    g += config
    g.append(min(s.ply / max(params.move_cap, 1), 1.0))
    g.append(min(s.lps_count / max(s.options.lps_rounds, 1), 1.0))
    return np.asarray(g, dtype=np.float32)
