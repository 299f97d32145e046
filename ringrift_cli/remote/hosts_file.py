"""Reading and validating ``hosts.yaml``.

Errors name the file and line, because the person fixing them is looking at
the YAML, not at our data structures. Example::

    hosts:
      - name: local
        ssh: local          # 'local' runs jobs as subprocesses on this machine
        slots: 2
      - name: gpu1
        ssh: trainer@gpu1.example.org:22
        slots: 4
        gpus: 1
        roles: [selfplay, train]
        home: /data/ringrift-data
        known_hosts: ~/.ssh/known_hosts
        bwlimit: 50000       # KB/s for transfers
        min_free_gb: 20      # never push to it with less free disk

Everything from this file ends up in a command line (ssh, rsync, the remote
shell), so names, users, hosts and paths are held to a narrow alphabet: a
value that starts with '-' (an option in disguise) or that holds shell syntax
is refused here, once, rather than quoted later and hoped for the best.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..keys import HOST_NAME_PATTERN, STAGES

LOCAL = "local"
HOSTS_ENV = "RINGRIFT_HOSTS"
HOSTS_FILE = "hosts.yaml"
FIELDS = {"name", "ssh", "slots", "gpus", "roles", "home", "command", "identity_file", "note",
          "known_hosts", "bwlimit", "min_free_gb"}
NAME_PATTERN = re.compile(HOST_NAME_PATTERN)  # the same rule as a job's --host pin
# user@host:port; user and host start with a letter or digit, so neither can read as an option.
SSH_PATTERN = re.compile(r"^(?:([A-Za-z0-9_][A-Za-z0-9_.-]{0,31})@)?([A-Za-z0-9][A-Za-z0-9.-]{0,252})(?::(\d{1,5}))?$")
# A path: no spaces, quotes, '$', ';', '|', '&', '`', '*', '=' or other shell syntax; '~' only as '~/...'.
PATH_PATTERN = re.compile(r"^(?:~|~/[A-Za-z0-9_./+@%,:-]*|[A-Za-z0-9_./+@%,:][A-Za-z0-9_./+@%,:-]*)$")
WORD_PATTERN = re.compile(r"^[A-Za-z0-9_./+@%,:~-]+$")
MAX_TEXT = 4096
# A Python pattern's '$' also matches before a final newline: every check uses fullmatch.
LIMITS = {"slots": (1, 1024), "gpus": (0, 64)}
MAX_BWLIMIT = 10_000_000  # KB/s: 10 GB/s, beyond any link this runs over
MAX_FREE_GB = 1_000_000
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class HostsFileError(UserError):
    pass


@dataclass(frozen=True)
class Host:
    name: str
    ssh: str
    slots: int = 1
    gpus: int = 0
    roles: tuple[str, ...] = STAGES
    home: str = "~/ringrift-data"
    command: str = "ringrift"
    identity_file: str | None = None
    note: str | None = None
    known_hosts: str = DEFAULT_KNOWN_HOSTS
    bwlimit: int | None = None  # KB/s; None: unlimited
    min_free_gb: float = 1.0

    @property
    def is_local(self) -> bool:
        return self.ssh == LOCAL

    @property
    def user(self) -> str | None:
        return None if self.is_local else SSH_PATTERN.fullmatch(self.ssh).group(1)

    @property
    def hostname(self) -> str:
        return "localhost" if self.is_local else SSH_PATTERN.fullmatch(self.ssh).group(2)

    @property
    def port(self) -> int:
        port = None if self.is_local else SSH_PATTERN.fullmatch(self.ssh).group(3)
        return int(port) if port else 22

    @property
    def command_words(self) -> tuple[str, ...]:
        """The remote ``ringrift`` as argv words (validated at load: no shell syntax)."""
        return tuple(self.command.split())

    def to_dict(self) -> dict:
        return {**self.__dict__, "roles": list(self.roles)}


LOCAL_HOST = Host(name=LOCAL, ssh=LOCAL)


def find_hosts_file(given: Path | None, home: Path) -> Path:
    """``--hosts``, else ``$RINGRIFT_HOSTS``, else ``home``/hosts.yaml, else ./hosts.yaml."""
    named = given or (Path(os.environ[HOSTS_ENV]) if os.environ.get(HOSTS_ENV) else None)
    if named is not None:
        if not named.is_file():
            raise HostsFileError(f"no hosts file at {named}")
        return named
    candidates = [home / HOSTS_FILE, Path(HOSTS_FILE)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise HostsFileError(
        f"no hosts file: looked for --hosts, ${HOSTS_ENV}, then {candidates[0]} and ./{HOSTS_FILE}"
    )


def load_hosts(path: Path) -> list[Host]:
    """Parse and validate ``path``; raise HostsFileError naming the line of the first problem.

    A file that lists no host means the local machine alone.
    """
    import yaml

    if not path.is_file():
        raise HostsFileError(f"no hosts file at {path}")
    try:
        root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise HostsFileError(f"{path}{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise HostsFileError(f"{path}: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HostsFileError(f"cannot read {path}: {exc}") from None
    if root is None:
        return [LOCAL_HOST]
    top = _mapping(path, root, "the top level")
    if set(top) != {"hosts"}:
        extra = sorted(set(top) - {"hosts"})
        node = top[extra[0]][0] if extra else root
        raise HostsFileError(f"{_where(path, node)}: expected a single 'hosts:' list, found {extra or 'nothing'}")
    entries = top["hosts"][1]
    if isinstance(entries, yaml.ScalarNode) and entries.value in ("", "null", "~"):
        return [LOCAL_HOST]
    if not isinstance(entries, yaml.SequenceNode):
        raise HostsFileError(f"{_where(path, entries)}: 'hosts' must be a list")
    if not entries.value:
        return [LOCAL_HOST]
    hosts, seen = [], {}
    for entry in entries.value:
        host = _host(path, entry)
        if host.name in seen:
            raise HostsFileError(
                f"{_where(path, entry)}: duplicate host name {host.name!r} (first defined on line {seen[host.name]})"
            )
        seen[host.name] = entry.start_mark.line + 1
        hosts.append(host)
    return hosts


def _where(path: Path, node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _mapping(path: Path, node, what: str) -> dict:
    """{key: (key_node, value_node)}; duplicate keys are an error (YAML would keep the last)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise HostsFileError(f"{_where(path, node)}: {what} must be a mapping")
    result = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key in result:
            raise HostsFileError(f"{_where(path, key_node)}: duplicate field {key!r}")
        result[key] = (key_node, value_node)
    return result


def _host(path: Path, node) -> Host:
    import yaml

    fields = _mapping(path, node, "a host entry")
    for key, (key_node, _) in fields.items():
        if key not in FIELDS:
            raise HostsFileError(
                f"{_where(path, key_node)}: unknown field {key!r}; valid fields: {', '.join(sorted(FIELDS))}"
            )
    for required in ("name", "ssh"):
        if required not in fields:
            raise HostsFileError(f"{_where(path, node)}: host entry needs '{required}'")
    values = {key: yaml.safe_load(yaml.serialize(value_node)) for key, (_, value_node) in fields.items()}

    def fail(key: str, message: str) -> HostsFileError:
        return HostsFileError(f"{_where(path, fields[key][1])}: {key}: {message}")

    name = values["name"]
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise fail("name", f"{name!r} is not a valid host name (letters, digits, '.', '_', '-')")
    ssh = values["ssh"]
    if not isinstance(ssh, str) or not (ssh == LOCAL or SSH_PATTERN.fullmatch(ssh)):
        raise fail("ssh", f"{ssh!r} is neither 'local' nor [user@]host[:port] (letters, digits, '.', '_', '-'; "
                   "not starting with '-')")
    port = SSH_PATTERN.fullmatch(ssh).group(3) if ssh != LOCAL else None
    if port is not None and not 1 <= int(port) <= 65535:
        raise fail("ssh", f"port {port} is outside 1-65535")
    for key, (minimum, maximum) in LIMITS.items():
        if key in values and (type(values[key]) is not int or not minimum <= values[key] <= maximum):
            raise fail(key, f"must be a whole number from {minimum} to {maximum}, got {values[key]!r}")
    roles = values.get("roles", list(STAGES))
    if not isinstance(roles, list) or not roles or any(role not in STAGES for role in roles):
        raise fail("roles", f"must be a non-empty list of {', '.join(STAGES)}; got {roles!r}")
    for key in ("home", "command", "identity_file", "note", "known_hosts"):
        if key in values and (not isinstance(values[key], str) or len(values[key]) > MAX_TEXT):
            raise fail(key, f"must be text of at most {MAX_TEXT} characters, got {values[key]!r}")
    if "note" in values and not values["note"].isprintable():
        raise fail("note", "must be one line of printable text")
    for key in ("home", "identity_file", "known_hosts"):
        if key in values and not PATH_PATTERN.fullmatch(values[key]):
            raise fail(key, f"{values[key]!r} is not a plain path (no spaces, quotes or shell syntax; "
                       "not starting with '-')")
    if "command" in values:
        words = values["command"].split()
        if not words or words[0].startswith("-") or any(not WORD_PATTERN.fullmatch(word) for word in words):
            raise fail("command", f"{values['command']!r} must be a program and plain arguments "
                       "(no quotes, '=', '$', ';' or other shell syntax; not starting with '-')")
    bwlimit = values.get("bwlimit")
    if bwlimit is not None and (type(bwlimit) is not int or not 1 <= bwlimit <= MAX_BWLIMIT):
        raise fail("bwlimit", f"must be a whole number of KB/s from 1 to {MAX_BWLIMIT}, got {bwlimit!r}")
    min_free = values.get("min_free_gb", Host.min_free_gb)
    if type(min_free) not in (int, float) or not 0 <= min_free <= MAX_FREE_GB:
        raise fail("min_free_gb", f"must be a number of GB from 0 to {MAX_FREE_GB}, got {min_free!r}")
    return Host(
        name=name, ssh=ssh, slots=values.get("slots", 1), gpus=values.get("gpus", 0),
        roles=tuple(roles), home=values.get("home", "~/ringrift-data"),
        command=" ".join(values["command"].split()) if "command" in values else "ringrift",
        identity_file=values.get("identity_file"), note=values.get("note"),
        known_hosts=values.get("known_hosts", DEFAULT_KNOWN_HOSTS), bwlimit=bwlimit, min_free_gb=float(min_free),
    )
