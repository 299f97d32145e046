"""Board geometry: cells, coordinates, keys and precomputed ray tables.

Every board is a fixed list of cells numbered 0..T-1 in the reference
enumeration order (square: x-major, then y; hex: x from -r to r, then y).
All engine code works on these indices; coordinates and the reference's
position keys (``"x,y"`` or ``"x,y,z"``) only appear at the edges
(serialization, rendering).

A ``Board`` is immutable and shared: ``board_for(board_type)`` returns the
same object every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from .errors import UnknownBoardError

BOARD_TYPES = ("square8", "square19", "hex8", "hexagonal")

SQUARE_MOVE_DIRS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
SQUARE_LINE_AXES = ((1, 0), (0, 1), (1, 1), (1, -1))
SQUARE_TERRITORY_DIRS = ((1, 0), (-1, 0), (0, 1), (0, -1))

HEX_MOVE_DIRS = ((1, 0, -1), (0, 1, -1), (-1, 1, 0), (-1, 0, 1), (0, -1, 1), (1, -1, 0))
HEX_LINE_AXES = ((1, 0, -1), (1, -1, 0), (0, -1, 1))

# Plain (x, y) steps used by the reference engines to grow the set of border
# markers around a processed region (RULES.md section 10.3).
PLAIN_XY_STEPS = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


@dataclass(frozen=True, eq=False)
class Board:
    """Geometry of one board type.

    Attributes a caller may rely on:
      * ``cells`` – number of cells T; ``coords[i]`` is ``(x, y)`` on square
        boards and ``(x, y, z)`` on hex boards; ``keys[i]`` the reference key.
      * ``rays[i][d]`` – tuple of cell indices met walking from ``i`` along
        movement direction ``d`` (``i`` itself excluded), up to the edge.
      * ``line_next[a][i]`` / ``line_prev[a][i]`` – neighbour of ``i`` along
        line axis ``a`` in the + / - sense, or -1 off the board.
      * ``territory_nbrs[i]`` – cells adjacent for territory connectivity.
      * ``border_nbrs[i]`` – cells used to grow border-marker sets (empty
        tuples on ``hexagonal``, where only the seed is collapsed).
      * ``bits[i]`` – ``1 << k`` for cell ``i``'s place ``k`` in the bit
        layout used for sets of cells as ints (see ``_bit_layout``);
        ``bit_cells[k]`` is the cell at place ``k`` or -1, ``all_bits`` the
        set of all cells. Shifting a set by ``move_shifts[d]`` (left when
        positive) moves every cell one step along movement direction ``d``;
        ``territory_shifts`` are the steps to territory neighbours. Cells
        stepping off the board land on places that are no cell.
    """

    board_type: str
    size: int
    is_hex: bool
    radius: int
    cells: int
    coords: tuple
    keys: tuple
    index: dict
    rays: tuple
    move_dirs: tuple
    line_next: tuple
    line_prev: tuple
    territory_nbrs: tuple
    border_nbrs: tuple
    bits: tuple
    bit_cells: tuple
    all_bits: int
    move_shifts: tuple
    territory_shifts: tuple
    # Cells strictly between two cells on a common ray, filled per origin
    # on first use (``between``).
    _between: list = field(repr=False)

    def key(self, cell: int) -> str:
        return self.keys[cell]

    def cell_of(self, key: str) -> int:
        """Index of a position key; hex keys may omit z. Raises KeyError."""
        return self.index[normalise_key(key, self.is_hex)]

    def cell_at(self, x: int, y: int, z: int | None = None) -> int:
        """Index of a coordinate, or -1 when it is off the board."""
        if self.is_hex:
            if z is None:
                z = -x - y
            if x + y + z != 0:
                return -1
            return self.index.get(f"{x},{y},{z}", -1)
        return self.index.get(f"{x},{y}", -1)

    def direction_between(self, src: int, dst: int) -> int:
        """Movement direction index leading from src to dst in a straight
        line, or -1 when dst is not on any ray of src."""
        a = self.coords[src]
        b = self.coords[dst]
        diff = tuple(q - p for p, q in zip(a, b))
        dist = max(abs(v) for v in diff)
        if dist == 0:
            return -1
        step = tuple(v // dist if v % dist == 0 else None for v in diff)
        if None in step:
            return -1
        try:
            return self.move_dirs.index(step)
        except ValueError:
            return -1

    def between(self, src: int, dst: int) -> tuple:
        """Cells strictly between ``src`` and ``dst``, in order from
        ``src``; raises KeyError when ``dst`` is not on a ray of ``src``."""
        table = self._between[src]
        if table is None:
            table = {}
            for ray in self.rays[src]:
                for k, cell in enumerate(ray):
                    table[cell] = ray[:k]
            self._between[src] = table
        return table[dst]

    def distance(self, src: int, dst: int) -> int:
        a = self.coords[src]
        b = self.coords[dst]
        return max(abs(q - p) for p, q in zip(a, b))


def normalise_key(key: str, is_hex: bool) -> str:
    """Canonical position key: integers, no spaces, z always on hex boards."""
    parts = [int(float(p)) for p in str(key).replace(" ", "").split(",") if p not in ("", "null", "None")]
    if is_hex:
        if len(parts) == 2:
            parts.append(-parts[0] - parts[1])
        return f"{parts[0]},{parts[1]},{parts[2]}"
    return f"{parts[0]},{parts[1]}"


def _square_coords(n: int) -> list:
    return [(x, y) for x in range(n) for y in range(n)]


def _hex_coords(r: int) -> list:
    out = []
    for x in range(-r, r + 1):
        for y in range(max(-r, -x - r), min(r, -x + r) + 1):
            out.append((x, y, -x - y))
    return out


def _key_of(c: tuple) -> str:
    return ",".join(str(v) for v in c)


def _bit_layout(coords: list) -> tuple:
    """Places of the cells in the bit layout, and the row stride.

    Rows are the x coordinates and places within a row the y coordinates,
    with one unused place after each row: a single step of at most one in
    y then never wraps from one row's edge onto a cell of the next."""
    lowest = min(c[0] for c in coords)
    lowest_y = min(c[1] for c in coords)
    stride = max(c[1] for c in coords) - lowest_y + 2
    return tuple((c[0] - lowest) * stride + (c[1] - lowest_y) for c in coords), stride


def _build(board_type: str) -> Board:
    is_hex = board_type in ("hex8", "hexagonal")
    if board_type == "square8":
        size, radius, coords = 8, 0, _square_coords(8)
    elif board_type == "square19":
        size, radius, coords = 19, 0, _square_coords(19)
    elif board_type == "hex8":
        size, radius, coords = 9, 4, _hex_coords(4)
    elif board_type == "hexagonal":
        size, radius, coords = 25, 12, _hex_coords(12)
    else:
        raise UnknownBoardError(f"unknown board type {board_type!r}; valid: {', '.join(BOARD_TYPES)}")
    keys = tuple(_key_of(c) for c in coords)
    index = {k: i for i, k in enumerate(keys)}
    coord_index = {c: i for i, c in enumerate(coords)}
    move_dirs = HEX_MOVE_DIRS if is_hex else SQUARE_MOVE_DIRS
    axes = HEX_LINE_AXES if is_hex else SQUARE_LINE_AXES
    terr_dirs = HEX_MOVE_DIRS if is_hex else SQUARE_TERRITORY_DIRS

    def step(c, d, k=1):
        return tuple(a + k * b for a, b in zip(c, d))

    rays = []
    for c in coords:
        per_dir = []
        for d in move_dirs:
            ray = []
            k = 1
            while True:
                n = coord_index.get(step(c, d, k))
                if n is None:
                    break
                ray.append(n)
                k += 1
            per_dir.append(tuple(ray))
        rays.append(tuple(per_dir))

    line_next = tuple(tuple(coord_index.get(step(c, a), -1) for c in coords) for a in axes)
    line_prev = tuple(tuple(coord_index.get(step(c, a, -1), -1) for c in coords) for a in axes)
    territory_nbrs = tuple(
        tuple(n for n in (coord_index.get(step(c, d)) for d in terr_dirs) if n is not None) for c in coords
    )
    if board_type == "hexagonal":
        border_nbrs = tuple(() for _ in coords)
    else:
        border = []
        for c in coords:
            nb = []
            for dx, dy in PLAIN_XY_STEPS:
                x, y = c[0] + dx, c[1] + dy
                n = coord_index.get((x, y, -x - y) if is_hex else (x, y))
                if n is not None:
                    nb.append(n)
            border.append(tuple(nb))
        border_nbrs = tuple(border)
    places, stride = _bit_layout(coords)
    bit_cells = [-1] * (max(places) + 1)
    for i, k in enumerate(places):
        bit_cells[k] = i
    return Board(
        board_type=board_type,
        size=size,
        is_hex=is_hex,
        radius=radius,
        cells=len(coords),
        coords=tuple(coords),
        keys=keys,
        index=index,
        rays=tuple(rays),
        move_dirs=move_dirs,
        line_next=line_next,
        line_prev=line_prev,
        territory_nbrs=territory_nbrs,
        border_nbrs=border_nbrs,
        bits=tuple(1 << k for k in places),
        bit_cells=tuple(bit_cells),
        all_bits=sum(1 << k for k in places),
        move_shifts=tuple(d[0] * stride + d[1] for d in move_dirs),
        territory_shifts=tuple(d[0] * stride + d[1] for d in terr_dirs),
        _between=[None] * len(coords),
    )


@cache
def board_for(board_type: str) -> Board:
    """The shared geometry for a board type; raises UnknownBoardError."""
    return _build(board_type)
