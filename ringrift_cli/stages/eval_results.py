"""``runs/<job>/results.jsonl``: the finished games of an eval run, one JSON line each, append-only.

The run appends a line (and fsyncs it) as each game ends, after the game is in the run's games
shard, so a killed run's next claim plays only the games missing here. Publish reads the file
(which a host wrote: untrusted) strictly: every planned game exactly once, each seat one of the
block's players, every field of its type and bound.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UserError
from ..json_input import loads
from .matchplay import BLOCK, PlayedGame

RESULTS_FILE = "results.jsonl"
MAX_LINE = 4000
FIELDS = ("game_index", "players", "ranks", "seed", "moves", "status")


class BadResults(UserError):
    """A results file that is not the games its eval run was planned to play."""


@dataclass(frozen=True)
class PlannedGames:
    """Which games a run may play: block b (one per opponent) between the candidate and ``blocks[b]``
    (an empty name: a block without games)."""

    candidate: str
    blocks: tuple[str, ...]
    games: tuple[int, ...]  # the most games of each block
    seats: int
    partial: bool = False  # the run stops once decided: any of the games, each at most once

    def indices(self) -> set[int]:
        return {block * BLOCK + i for block, name in enumerate(self.blocks) if name for i in range(self.games[block])}

    def has(self, index) -> bool:
        return type(index) is int and 0 <= index and index // BLOCK < len(self.blocks) \
            and bool(self.blocks[index // BLOCK]) and index % BLOCK < self.games[index // BLOCK]


def game_line(game: PlayedGame) -> str:
    values = asdict(game)
    return json.dumps({key: values[key] for key in FIELDS}, allow_nan=False) + "\n"


def parse_line(line: str, planned: PlannedGames, what: str) -> PlayedGame:
    """One line as a PlayedGame (without its record), or BadResults saying why not."""
    try:
        raw = loads(line, what)
    except UserError as exc:
        raise BadResults(str(exc)) from None
    if not isinstance(raw, dict) or set(raw) != set(FIELDS):
        raise BadResults(f"{what}: expected the fields {', '.join(FIELDS)}")
    index = raw["game_index"]
    if not planned.has(index):
        raise BadResults(f"{what}: game {str(index)[:20]} is not one of the planned games")
    allowed = {planned.candidate, planned.blocks[index // BLOCK]}
    players, ranks = raw["players"], raw["ranks"]
    if not isinstance(players, list) or len(players) != planned.seats or any(p not in allowed for p in players) \
            or not isinstance(ranks, list) or len(ranks) != planned.seats \
            or any(type(r) is not int or not 1 <= r <= planned.seats for r in ranks):
        raise BadResults(f"{what}: game {index}'s seats are not its block's players and ranks")
    if any(type(raw[key]) is not int or not 0 <= raw[key] < 2**63 for key in ("seed", "moves")) \
            or raw["status"] not in ("completed", "capped"):
        raise BadResults(f"{what}: game {index}'s seed, moves or status is not valid")
    return PlayedGame(index, tuple(players), tuple(ranks), raw["seed"], raw["moves"], raw["status"])


def read_results(path: Path, planned: PlannedGames) -> list[PlayedGame]:
    """Every planned game (when ``planned.partial``: some of them), each exactly once, in the order
    played; BadResults otherwise."""
    expected = planned.indices()
    if path.stat().st_size > MAX_LINE * max(1, len(expected)):
        raise BadResults(f"{path.name} is {path.stat().st_size} bytes, too big for {len(expected)} games")
    games: dict[int, PlayedGame] = {}
    text = path.read_text(encoding="utf-8", errors="replace")
    if text and not text.endswith("\n"):
        raise BadResults(f"{path.name} ends in a partial line")
    for number, line in enumerate(text.splitlines(), start=1):
        game = parse_line(line, planned, f"{path.name} line {number}")
        if game.game_index in games:
            raise BadResults(f"{path.name} line {number}: game {game.game_index} is recorded twice")
        games[game.game_index] = game
    if not planned.partial and set(games) != expected:
        raise BadResults(f"{path.name} holds {len(games)} of the {len(expected)} planned games")
    return list(games.values())


class ResultsFile:
    """The run's side: the games recorded so far, and each new one appended and fsynced. BadResults
    when a whole line is not one of the planned games (damaged, or an earlier claim planned others)."""

    def __init__(self, path: Path, planned: PlannedGames):
        self.path, self.planned = path, planned
        self.recorded: dict[int, PlayedGame] = {}
        text = path.read_bytes() if path.exists() else b""
        whole = text[:text.rfind(b"\n") + 1]  # a line cut short by a kill never ended: dropped
        for number, line in enumerate(whole.decode("utf-8", "replace").splitlines(), start=1):
            game = parse_line(line, planned, f"{path.name} line {number}")  # BadResults: not this plan's
            self.recorded.setdefault(game.game_index, game)
        self.handle = open(path, "ab")
        if len(whole) != len(text):
            self.handle.truncate(len(whole))

    def append(self, game: PlayedGame) -> None:
        if game.game_index in self.recorded:
            return
        self.handle.write(game_line(game).encode())
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.recorded[game.game_index] = game

    def close(self) -> None:
        self.handle.close()


def open_results(run_dir: Path, planned: PlannedGames, with_it: tuple[Path, ...] = ()) -> tuple[ResultsFile, str | None]:
    """The run folder's results file, to go on with; one that belongs to other games (an earlier
    claim's plan named another best model, or the file is damaged) is set aside first, together with
    ``with_it`` (what that claim wrote beside it), and the note of that for the run's result."""
    path = run_dir / RESULTS_FILE
    try:
        return ResultsFile(path, planned), None
    except BadResults as exc:
        aside = set_aside(run_dir, [path, *with_it], str(exc))
        return ResultsFile(path, planned), aside


def set_aside(run_dir: Path, paths: list[Path], why: str) -> str:
    """Move what an earlier claim recorded for other games (its plan named another best model, or the
    file is damaged) into a fresh folder of the run, so that none of it mixes into this run's; the
    folder's name and why, for the run's result."""
    aside = run_dir / f"set-aside-{time.time_ns()}"
    aside.mkdir()
    for path in paths:
        if path.exists():
            os.replace(path, aside / path.name)
    return f"{aside.name}: {why[:300]}"
