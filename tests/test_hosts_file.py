from __future__ import annotations

import json
import textwrap

import pytest

from ringrift_testing import REPO, run_cli
from ringrift_cli.remote.hosts_file import HostsFileError, load_hosts


def write(tmp_path, text):
    path = tmp_path / "hosts.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_repository_hosts_file_is_valid():
    hosts = load_hosts(REPO / "hosts.yaml")
    assert hosts and any(host.is_local for host in hosts)


def test_hosts_ls_shows_defaults_filled_in(tmp_path):
    path = write(tmp_path, """\
        hosts:
          - name: local
            ssh: local
          - name: gpu1
            ssh: trainer@gpu1.example.org:2222
            slots: 4
            gpus: 2
            roles: [selfplay, train]
        """)
    result = run_cli("hosts", "ls", "--hosts", str(path), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["slots"] == 1 and rows[0]["roles"][0] == "selfplay"
    assert rows[1]["gpus"] == 2 and rows[1]["roles"] == ["selfplay", "train"]


@pytest.mark.parametrize("text, line, words", [
    ("hosts:\n  - name: a\n    ssh: local\n    colour: blue\n", 4, "unknown field 'colour'"),
    ("hosts:\n  - name: a\n    ssh: local\n  - name: a\n    ssh: b.example.org\n", 4, "duplicate host name 'a' (first defined on line 2)"),
    ("hosts:\n  - name: a\n    ssh: local\n    slots: [\n", 5, "not valid YAML"),
    ("hosts:\n  - name: a\n    ssh: local\n    slots: 0\n", 4, "slots: must be a whole number >= 1"),
    ("hosts:\n  - name: a\n    ssh: local\n    roles: [dance]\n", 4, "roles"),
    ("hosts:\n  - name: a\n    ssh: local\n    name: b\n", 4, "duplicate field 'name'"),
    ("hosts:\n  - ssh: local\n", 2, "needs 'name'"),
    ("hosts:\n  - name: a\n    ssh: 'not a host!'\n", 3, "neither 'local'"),
    ("machines: []\n", 1, "single 'hosts:' list"),
])
def test_bad_hosts_file_names_the_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(HostsFileError) as caught:
        load_hosts(path)
    assert f"{path}:{line}:" in str(caught.value) and words in str(caught.value)
    result = run_cli("hosts", "ls", "--hosts", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_missing_hosts_file_is_a_clear_error(tmp_path):
    result = run_cli("hosts", "ls", "--hosts", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2 and "no hosts file" in result.output
