"""Hostile command lines for every command of the real app, and hostile JSON for `rules check`.

Whatever is typed: the exit code is 0, 1, 2 or 3; no traceback and no internal error reaches the
screen; stderr holds at most 3 lines; and a refusal (exit 2) leaves the state file's logical
content unchanged.

The command lines come from walking the Typer app itself, so a new command or option is fuzzed
without touching this file. CI runs a small number of examples (well under a minute); set
``RINGRIFT_FUZZ_EXAMPLES`` (e.g. 2000) for a longer search.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringrift_testing import run_cli, state_dump

EXAMPLES = int(os.environ.get("RINGRIFT_FUZZ_EXAMPLES", "0")) or None
# Commands that stay bounded in time whatever they are given, once the prepared state file holds
# selfplay settings of one simulation: their cost is fuzzed too, but only with small valid numbers.
COMMAND_EXAMPLES = EXAMPLES or 150
JSON_EXAMPLES = EXAMPLES or 60


def leaf_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    from typer.main import get_command

    from ringrift_cli.cli.app import app

    found = []

    def walk(path: tuple[str, ...], command: click.Command) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk((*path, name), sub)
        else:
            found.append((path, command))

    walk((), get_command(app))
    return found


COMMANDS = leaf_commands()

NUMBERS = st.one_of(
    st.sampled_from(["0", "-1", "-3", "1", "2", "nan", "NaN", "inf", "-inf", "1e309", "1.5", "0x10", "", " ",
                     "9" * 30, "9" * 5000, "2e9", "-0", "1_000"]),
    st.integers(min_value=-(2**70), max_value=-1).map(str),
    st.integers(min_value=2**31, max_value=2**80).map(str),
)
TEXTS = st.one_of(
    st.sampled_from(["hex8_2p", "square19_4p", "selfplay", "train", "queued", "best", "none", "random", "cpu",
                     "games=1", "games=NaN", "x=1", "model=" + "m" * 300, "-h", "--", "-x", "$(id)", "a;b",
                     "h1\n", "\x7f", "ünïcødé", "🎲", "7d", "0s", "soon", "queue.max_attempts", "loop.halted",
                     "[" * 3000, '{"a": ' * 100, "true", "null"]),
    # No NUL: a real command line cannot hold one (execve ends each argument there).
    st.text(st.characters(blacklist_characters="\x00"), max_size=30),
)


def odd_files(root) -> dict[str, str]:
    """Paths to odd files, made once per session."""
    empty = root / "empty"
    empty.touch()
    (root / "a-dir").mkdir(exist_ok=True)
    regular = root / "regular"
    regular.write_text("not json, not sqlite\n")
    (root / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (root / "digits.json").write_text('{"boardType": "square8", "numPlayers": ' + "9" * 5000 + ', "moves": []}')
    (root / "nan.json").write_text('{"boardType": "square8", "numPlayers": NaN, "moves": []}')
    (root / "players.json").write_text('{"boardType": "square8", "numPlayers": 100000000, "moves": []}')
    foreign = root / "foreign.sqlite"
    if not foreign.exists():
        conn = sqlite3.connect(foreign)
        conn.execute("CREATE TABLE t (x)")
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
        conn.close()
    return {name: str(path) for name, path in {
        "empty": empty, "dir": root / "a-dir", "regular": regular, "under": regular / "below",
        "missing": root / "missing", "long": root / ("n" * 300), "deep": root / "deep.json",
        "digits": root / "digits.json", "nan": root / "nan.json", "players": root / "players.json",
        "foreign": foreign, "devnull": "/dev/null"}.items()}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A state file with a few jobs of every status, and settings that keep any selfplay tiny."""
    from ringrift_cli.cli.init import init
    from ringrift_cli.context import open_context
    from ringrift_cli.store import queue as q
    from ringrift_cli.store.settings import store_setting

    root = tmp_path_factory.mktemp("fuzz")
    home = root / "template"
    init(home=home, json_output=False)
    with open_context(home) as ctx:
        store_setting(ctx.store, "selfplay.simulations", 1)
        store_setting(ctx.store, "selfplay.parallel_games", 1)
        for kind in ("train", "eval", "train"):
            q.enqueue(ctx.store, q.JobSpec(kind, "hex8_2p"))
        q.claim(ctx.store, "w1", ("train",))
        dead = q.claim(ctx.store, "w2", ("eval",))
        q.fail(ctx.store, dead.id, "w2", dead.claim_seq, "boom", retry=False)
    files = root / "files"
    files.mkdir()
    return home, odd_files(files)


def value_for(param: click.Parameter, files: dict[str, str], home: str):
    if param.name == "home":
        return st.one_of(st.just(home), st.sampled_from(sorted(files.values())), TEXTS)
    if isinstance(param.type, click.Path) or param.name in ("file", "hosts"):
        return st.one_of(st.sampled_from(sorted(files.values())), TEXTS)
    if isinstance(param.type, (click.types.IntParamType, click.types.FloatParamType)):
        return NUMBERS
    return st.one_of(TEXTS, NUMBERS)


@st.composite
def command_lines(draw, files: dict[str, str], home: str):
    path, command = draw(st.sampled_from(COMMANDS))
    argv = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            argv.append(draw(value_for(param, files, home)))
        elif isinstance(param, click.Option) and param.name != "help":
            given = param.required or param.name == "home" or draw(st.booleans())
            if not given:
                continue
            flag = param.opts[0]
            if param.is_flag:
                argv.append(flag)
            else:
                for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
                    argv += [flag, draw(value_for(param, files, home))]
    return argv


def bounded_cost(argv: list[str]) -> bool:
    """Refuse to spend the suite's minute on a valid request for a large amount of real work."""
    if argv[:2] == ["loop", "run"]:
        return False  # runs stages until its end condition; tests/loop drive it (its options are shared ones)
    for flag in ("--games", "-n", "--sims", "--parallel", "--max-jobs", "--procs"):
        if flag in argv:
            value = argv[argv.index(flag) + 1]
            if value.strip().isdigit() and len(value.strip()) <= 6 and 3 <= int(value) <= 100_000:
                return False
    return "play" not in argv[:1] or "--quiet" in argv or "--json" in argv


def check_outcome(result, home, before) -> None:
    stderr = result.stderr
    shown = result.output + stderr
    assert result.exit_code in (0, 1, 2, 3), (result.exit_code, shown[-400:])
    assert "Traceback" not in shown and "internal error" not in stderr, shown[-800:]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}")
    assert len(stderr.strip().splitlines()) <= 3, stderr[-400:]
    if result.exit_code == 2:
        assert state_dump(home / "queue.db") == before


@pytest.fixture
def workdir(tmp_path, monkeypatch, prepared):
    monkeypatch.chdir(tmp_path)  # a relative --home lands here, never in the checkout
    return tmp_path


@settings(max_examples=COMMAND_EXAMPLES, deadline=None, derandomize=EXAMPLES is None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_command_line_exits_cleanly(prepared, workdir, data):
    template, files = prepared
    home = workdir / "home"
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(template, home)
    argv = data.draw(command_lines(files, str(home)))
    if not bounded_cost(argv):
        return
    before = state_dump(home / "queue.db")
    check_outcome(run_cli(*argv), home, before)


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                        st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False), st.text(max_size=10))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                               st.dictionaries(st.text(max_size=8), inner,
                                                                               max_size=4)), max_leaves=20)
RECORDS = st.fixed_dictionaries(
    {"boardType": st.sampled_from(["square8", "square19", "hex8", "hexagonal", "octagon", 7]),
     "numPlayers": st.one_of(st.integers(-5, 10**9), st.floats(allow_subnormal=False), st.text(max_size=3), st.none()),
     "moves": st.one_of(st.lists(JSON_VALUES, max_size=5), JSON_VALUES)},
    optional={"winner": JSON_VALUES, "extra": JSON_VALUES})
STATES = st.fixed_dictionaries({"initial_state": st.one_of(JSON_VALUES, st.fixed_dictionaries(
    {"board": st.fixed_dictionaries({"type": st.sampled_from(["square8", "hex8", "x"])}),
     "players": st.lists(st.fixed_dictionaries({}), max_size=6)})), "moves": st.lists(JSON_VALUES, max_size=3)})
DOCUMENTS = st.one_of(RECORDS, STATES, st.fixed_dictionaries({"vectors": st.lists(JSON_VALUES, max_size=3)}),
                      JSON_VALUES)
RAW_TEXT = st.one_of(DOCUMENTS.map(json.dumps),
                     st.sampled_from(["", "{", "[" * 100_000, '{"x": Infinity}', '{"x": 1e999}', "\x00\xff",
                                      '{"numPlayers": ' + "9" * 10_000 + "}"]))


@settings(max_examples=JSON_EXAMPLES, deadline=None, derandomize=EXAMPLES is None,
          suppress_health_check=list(HealthCheck))
@given(text=RAW_TEXT)
def test_any_document_given_to_rules_check_exits_cleanly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("doc") / "doc.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = run_cli("rules", "check", str(path))
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output[-400:])
    assert "Traceback" not in result.output and "internal error" not in result.stderr, result.output[-800:]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert len(result.stderr.strip().splitlines()) <= 3
