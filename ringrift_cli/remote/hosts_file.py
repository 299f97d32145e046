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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..keys import HOST_NAME_PATTERN, STAGES

LOCAL = "local"
MAX_SLOTS, MAX_GPUS = 1024, 64
FIELDS = {"name", "ssh", "slots", "gpus", "roles", "home", "command", "identity_file", "note"}
NAME_PATTERN = re.compile(HOST_NAME_PATTERN)
# [user@]host[:port]; neither part may start with '-' (ssh would read it as an option).
SSH_PATTERN = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}@)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}(?::(\d{1,5}))?")
# home, command, identity_file go into an ssh command line: no quoting, globbing or chaining.
PLAIN_TEXT = re.compile(r"[A-Za-z0-9_./~+=:,@ -]{1,1024}")


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

    @property
    def is_local(self) -> bool:
        return self.ssh == LOCAL

    def to_dict(self) -> dict:
        return {**self.__dict__, "roles": list(self.roles)}


def load_hosts(path: Path) -> list[Host]:
    """Parse and validate ``path``; raise HostsFileError naming the line of the first problem."""
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
        return []
    top = _mapping(path, root, "the top level")
    if set(top) != {"hosts"}:
        extra = sorted(set(top) - {"hosts"})
        node = top[extra[0]][0] if extra else root
        raise HostsFileError(f"{_where(path, node)}: expected a single 'hosts:' list, found {extra or 'nothing'}")
    entries = top["hosts"][1]
    if isinstance(entries, yaml.ScalarNode) and entries.value in ("", "null", "~"):
        return []
    if not isinstance(entries, yaml.SequenceNode):
        raise HostsFileError(f"{_where(path, entries)}: 'hosts' must be a list")
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
    target = SSH_PATTERN.fullmatch(ssh) if isinstance(ssh, str) else None
    if ssh != LOCAL and (target is None or (target.group(1) and not 1 <= int(target.group(1)) <= 65535)):
        raise fail("ssh", f"{ssh!r} is neither 'local' nor [user@]host[:port] (port 1 to 65535, no leading '-')")
    for key, minimum, maximum in (("slots", 1, MAX_SLOTS), ("gpus", 0, MAX_GPUS)):
        if key in values and (type(values[key]) is not int or not minimum <= values[key] <= maximum):
            raise fail(key, f"must be a whole number >= {minimum} and <= {maximum}, got {str(values[key])[:40]}")
    roles = values.get("roles", list(STAGES))
    if not isinstance(roles, list) or not roles or any(role not in STAGES for role in roles):
        raise fail("roles", f"must be a non-empty list of {', '.join(STAGES)}; got {roles!r}")
    for key in ("home", "command", "identity_file", "note"):
        if key in values and not isinstance(values[key], str):
            raise fail(key, f"must be text, got {values[key]!r}")
    for key in ("home", "command", "identity_file"):
        if key in values and (not PLAIN_TEXT.fullmatch(values[key]) or values[key].startswith("-")):
            raise fail(key, f"{values[key]!r} holds characters a shell would interpret (allowed: letters, "
                       "digits, space and _ . / ~ + = : , @ -; no leading '-')")
    if "note" in values and any(ord(ch) < 32 for ch in values["note"]):
        raise fail("note", "must be one line of text")
    return Host(
        name=name, ssh=ssh, slots=values.get("slots", 1), gpus=values.get("gpus", 0),
        roles=tuple(roles), home=values.get("home", "~/ringrift-data"),
        command=values.get("command", "ringrift"), identity_file=values.get("identity_file"),
        note=values.get("note"),
    )
