"""Board symmetries for augmentation: the 8 of the square (D4) and the 12
of the hexagon (D6), acting on cells, grid planes, policy indices, moves
and whole game states.

A ``Symmetry`` maps the board onto itself. Its arrays follow one
convention: ``cells[c]`` is the image of board cell ``c``, and
``policy_perm[i]`` the image of policy index ``i``, so that for every legal
move m of a state s::

    move_indices(T(s), T(m)) == policy_perm[move_indices(s, m)]   (as sets)

``transform_planes`` and ``transform_policy`` gather through the inverse
arrays. Hex grid padding cells stay where they are, so every array is a
bijection of the whole grid / policy space. ``symmetries(...)[0]`` is the
identity.

Move generation commutes with every symmetry. Applying a move does too,
except on ``hex8``: there the border markers collapsed with a region grow
through plain (x, y) steps (a rule kept from the reference engines), which
only 4 of the 12 hexagon symmetries preserve. ``Symmetry.exact`` says
whether a symmetry preserves every table of the board (rays, line axes,
territory and border neighbours), i.e. whether games played from the image
position are exactly the images of games played from the original; on
``hex8`` the 8 others give positions whose futures differ after some
territory decisions.

Square symmetries act on coordinates centred on the middle of the board;
hex symmetries are the 12 signed permutations of cube coordinates
(rotation by 60 degrees: (x, y, z) -> (-z, -x, -y); mirror: swap x and y).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..game import GameState, Move, board_for, state_from_json, state_to_json
from ..game.moves import CHOOSE_LINE_OPTION, CHOOSE_TERRITORY_OPTION, PROCESS_LINE, RECOVERY_SLIDE
from ..game.rules import BOARD_TYPES, parse_config_key
from .policy_space import SEGMENT_KINDS, grid_for, layout_for


@dataclass(frozen=True, eq=False)
class Symmetry:
    """One symmetry of a board (module docstring for the conventions)."""

    board_type: str
    name: str
    cells: tuple  # board cell -> image cell
    directions: tuple  # movement direction d -> image direction
    axes: tuple  # line axis a -> (image axis, +1 or -1)
    grid_perm: np.ndarray  # grid index -> image grid index
    grid_src: np.ndarray  # inverse: image grid index -> source
    policy_perm: np.ndarray  # policy index -> image index
    policy_src: np.ndarray  # inverse
    exact: bool  # the rules commute with it (see module docstring)

    @property
    def is_identity(self) -> bool:
        return all(i == c for i, c in enumerate(self.cells))


_SQUARE_MAPS = (
    ("identity", lambda a, b: (a, b)),
    ("rot90", lambda a, b: (-b, a)),
    ("rot180", lambda a, b: (-a, -b)),
    ("rot270", lambda a, b: (b, -a)),
    ("mirror_x", lambda a, b: (-a, b)),
    ("mirror_y", lambda a, b: (a, -b)),
    ("transpose", lambda a, b: (b, a)),
    ("anti_transpose", lambda a, b: (-b, -a)),
)


def _hex_maps() -> list:
    def rotate(v, k):
        for _ in range(k):
            v = (-v[2], -v[0], -v[1])
        return v

    maps = [(f"rot{60 * k}", lambda v, k=k: rotate(v, k)) for k in range(6)]
    maps += [(f"mirror{60 * k}", lambda v, k=k: rotate((v[1], v[0], v[2]), k)) for k in range(6)]
    return maps


def symmetries(config_or_board: str) -> tuple[Symmetry, ...]:
    """Every symmetry of the board of a config key (``"hex8_2p"``) or board
    type (``"hex8"``); the identity first."""
    board_type = config_or_board if config_or_board in BOARD_TYPES else parse_config_key(config_or_board)[0]
    return _symmetries(board_type)


@lru_cache(maxsize=None)
def _symmetries(board_type: str) -> tuple[Symmetry, ...]:
    board = board_for(board_type)
    if board.is_hex:
        maps = _hex_maps()
        centre = lambda c: c  # noqa: E731 - cube coordinates are centred already
        uncentre = lambda c: c  # noqa: E731
    else:
        n = board.size - 1
        maps = [(name, lambda v, f=f: f(*v)) for name, f in _SQUARE_MAPS]
        centre = lambda c: (2 * c[0] - n, 2 * c[1] - n)  # noqa: E731
        uncentre = lambda c: ((c[0] + n) // 2, (c[1] + n) // 2)  # noqa: E731
    return tuple(_build(board, name, f, centre, uncentre) for name, f in maps)


def _axis_vectors(board) -> list:
    out = []
    for nxt in board.line_next:
        c = next(i for i, j in enumerate(nxt) if j >= 0)
        out.append(tuple(q - p for p, q in zip(board.coords[c], board.coords[nxt[c]])))
    return out


def _build(board, name, f, centre, uncentre) -> Symmetry:
    coord_index = {c: i for i, c in enumerate(board.coords)}
    cells = tuple(coord_index[uncentre(f(centre(c)))] for c in board.coords)
    directions = tuple(board.move_dirs.index(f(d)) for d in board.move_dirs)
    vectors = _axis_vectors(board)
    axes = []
    for v in vectors:
        image = f(v)
        negated = tuple(-x for x in image)
        axes.append((vectors.index(image), 1) if image in vectors else (vectors.index(negated), -1))
    grid = grid_for(board.board_type)
    grid_perm = np.arange(grid.area, dtype=np.int64)
    grid_perm[grid.flat_array] = grid.flat_array[list(cells)]
    layout = layout_for(board.board_type)
    channel_map = _channel_map(layout, directions, axes)
    spatial = (channel_map[:, None] * grid.area + grid_perm[None, :]).reshape(-1)
    extra = np.arange(layout.channels * grid.area, layout.size, dtype=np.int64)
    policy_perm = np.concatenate([spatial, extra])
    return Symmetry(
        board.board_type, name, cells, directions, tuple(axes),
        grid_perm, np.argsort(grid_perm), policy_perm, np.argsort(policy_perm), _preserves_tables(board, cells),
    )


def _preserves_tables(board, cells: tuple) -> bool:
    def same(table) -> bool:
        return all({cells[x] for x in table[c]} == set(table[cells[c]]) for c in range(board.cells))

    rays = tuple(tuple(x for ray in rays for x in ray) for rays in board.rays)
    return same(rays) and same(board.territory_nbrs) and same(board.border_nbrs)


def _channel_map(layout, directions, axes) -> np.ndarray:
    out = np.arange(layout.channels, dtype=np.int64)
    m = layout.max_distance
    for d, image in enumerate(directions):
        for k in range(m):
            out[layout.move + d * m + k] = layout.move + image * m + k
    flip = {0: 0, 1: 2, 2: 1}  # odd stays; plus <-> minus when the axis reverses
    for block in (layout.line_elim, layout.line_window):
        for a, (image, sign) in enumerate(axes):
            for kind in range(len(SEGMENT_KINDS)):
                out[block + 3 * a + kind] = block + 3 * image + (kind if sign > 0 else flip[kind])
    return out


# -- applying a symmetry ----------------------------------------------------------------


def transform_planes(sym: Symmetry, planes: np.ndarray) -> np.ndarray:
    """Planes [..., C, H, W] of a state -> the planes of its image."""
    shape = planes.shape
    flat = planes.reshape(shape[:-2] + (shape[-2] * shape[-1],))
    return flat[..., sym.grid_src].reshape(shape)


def transform_policy(sym: Symmetry, vector: np.ndarray) -> np.ndarray:
    """A dense policy vector [..., P] -> the vector of the image position."""
    return vector[..., sym.policy_src]


def transform_indices(sym: Symmetry, indices: np.ndarray) -> np.ndarray:
    """Sparse policy indices (e.g. a stored visit distribution) -> images."""
    return sym.policy_perm[np.asarray(indices, dtype=np.int64)]


def transform_state(sym: Symmetry, state: GameState) -> GameState:
    """The image of a state: every cell moved, everything else kept."""
    board = board_for(sym.board_type)
    if state.board.board_type != sym.board_type:
        raise ValueError(f"a {sym.board_type} symmetry cannot act on a {state.board.board_type} state")
    keys = board.keys
    image = {keys[c]: keys[t] for c, t in enumerate(sym.cells)}
    doc = state_to_json(state)
    for name in ("stacks", "markers", "collapsed"):
        doc[name] = {image[k]: v for k, v in doc[name].items()}
    turn = doc["turn"]
    for name in ("must_move_from", "capture_from"):
        if turn[name] is not None:
            turn[name] = image[turn[name]]
    return state_from_json(doc)


def transform_move(sym: Symmetry, move: Move) -> Move:
    """The image of a move, written the way the engine generates it in the
    image position (lines from their minus end, regions sorted)."""
    cells = sym.cells
    board = board_for(sym.board_type)

    def at(c):
        return cells[c] if c >= 0 else -1

    line = tuple(cells[c] for c in move.cells)
    collapse = tuple(cells[c] for c in move.collapse)
    to = at(move.to)
    if move.kind == CHOOSE_TERRITORY_OPTION:
        line = tuple(sorted(line))
        to = line[0]
    elif move.kind in (PROCESS_LINE, CHOOSE_LINE_OPTION, RECOVERY_SLIDE):
        line = _forward(board, line)
        collapse = _forward(board, collapse)
        if move.kind != RECOVERY_SLIDE:
            to = line[0]
    return move._replace(to=to, frm=at(move.frm), target=at(move.target), cells=line,
                         collapse=collapse, extraction=at(move.extraction))


def _forward(board, run: tuple) -> tuple:
    """A straight run of cells ordered along its axis' + direction."""
    if len(run) < 2:
        return run
    for nxt in board.line_next:
        if nxt[run[0]] == run[1]:
            return run
    return run[::-1]
