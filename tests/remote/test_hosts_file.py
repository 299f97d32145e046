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


@pytest.mark.parametrize("field, value, words", [
    ("name", '"h1\\n"', "not a valid host name"),
    ("name", "-h1", "not a valid host name"),
    ("ssh", "-oProxyCommand=touch", "neither 'local'"),
    ("ssh", "user@-host", "neither 'local'"),
    ("ssh", "host:99999", "port 1 to 65535"),
    ("ssh", "host:0", "port 1 to 65535"),
    ("ssh", '"host\\n"', "neither 'local'"),
    ("command", '"ringrift; reboot"', "shell would interpret"),
    ("command", '"-x"', "shell would interpret"),
    ("home", '"$(id)"', "shell would interpret"),
    ("home", '"~/data\\n"', "shell would interpret"),
    ("identity_file", '"`id`"', "shell would interpret"),
    ("slots", "100000000", "<= 1024"),
    ("gpus", "999", "<= 64"),
    ("note", '"two\\nlines"', "one line"),
])
def test_hosts_fields_refuse_what_ssh_or_a_shell_would_misread(tmp_path, field, value, words):
    entry = {"name": "h1", "ssh": "host.example.org", field: value}
    text = "hosts:\n  - " + "\n    ".join(f"{key}: {val}" for key, val in entry.items()) + "\n"
    path = write(tmp_path, text)
    with pytest.raises(HostsFileError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_hosts(path)


def test_hosts_ls_says_where_it_looked(tmp_path, monkeypatch, isolated_home):
    monkeypatch.chdir(tmp_path)
    result = run_cli("hosts", "ls")
    assert result.exit_code == 2 and str(isolated_home / "hosts.yaml") in result.output
    assert "./hosts.yaml" in result.output
    isolated_home.mkdir()
    (isolated_home / "hosts.yaml").write_text("hosts:\n  - name: here\n    ssh: local\n")
    assert "here" in run_cli("hosts", "ls", "--json").output
