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
    ("hosts:\n  - name: a\n    ssh: local\n    slots: 0\n", 4, "slots: must be a whole number from 1 to 1024"),
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
    ("ssh", "host:99999", "outside 1-65535"),
    ("ssh", "host:0", "outside 1-65535"),
    ("ssh", '"host\\n"', "neither 'local'"),
    ("command", '"ringrift; reboot"', "shell syntax"),
    ("command", '"-x"', "not starting with '-'"),
    ("home", '"$(id)"', "not a plain path"),
    ("home", '"~/data\\n"', "not a plain path"),
    ("identity_file", '"`id`"', "not a plain path"),
    ("slots", "100000000", "from 1 to 1024"),
    ("gpus", "999", "from 0 to 64"),
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
@pytest.mark.parametrize("entry, words", [
    ("name: '-oProxyCommand=touch /tmp/x'\n    ssh: local", "not a valid host name"),
    ("name: a\n    ssh: '-oProxyCommand=touch /tmp/x'", "neither 'local'"),
    ("name: a\n    ssh: -oProxyCommand", "neither 'local'"),
    ("name: a\n    ssh: '-lroot@gpu1'", "neither 'local'"),
    ("name: a\n    ssh: root@-gpu1", "neither 'local'"),
    ("name: a\n    ssh: gpu1:0", "port 0 is outside 1-65535"),
    ("name: a\n    ssh: gpu1:65536", "port 65536 is outside 1-65535"),
    ("name: a\n    ssh: gpu1\n    home: '/data/$(reboot)'", "home: '/data/$(reboot)' is not a plain path"),
    ("name: a\n    ssh: gpu1\n    home: '-rf'", "not a plain path"),
    ("name: a\n    ssh: gpu1\n    home: '/my data'", "not a plain path"),
    ("name: a\n    ssh: gpu1\n    home: '~root/x'", "not a plain path"),
    ("name: a\n    ssh: gpu1\n    identity_file: 'k;ls'", "identity_file"),
    ("name: a\n    ssh: gpu1\n    known_hosts: '`id`'", "known_hosts"),
    ("name: a\n    ssh: gpu1\n    command: 'ringrift; reboot'", "command"),
    ("name: a\n    ssh: gpu1\n    command: 'PYTHONPATH=/x python -m ringrift_cli'", "command"),
    ("name: a\n    ssh: gpu1\n    command: '-oX ringrift'", "command"),
    ("name: a\n    ssh: gpu1\n    bwlimit: 0", "bwlimit"),
    ("name: a\n    ssh: gpu1\n    bwlimit: 50000000", "bwlimit"),
    ("name: a\n    ssh: gpu1\n    min_free_gb: -1", "min_free_gb"),
    ("name: a\n    ssh: gpu1\n    min_free_gb: .nan", "min_free_gb"),
])
def test_values_that_could_act_as_options_or_shell_are_refused_at_load(tmp_path, entry, words):
    path = write(tmp_path, f"hosts:\n  - {entry}\n")
    with pytest.raises(HostsFileError) as caught:
        load_hosts(path)
    assert words in str(caught.value)


def test_new_fields_and_their_defaults(tmp_path):
    path = write(tmp_path, """\
        hosts:
          - name: gpu1
            ssh: trainer@gpu1.example.org:2222
            known_hosts: /etc/ringrift/known_hosts
            bwlimit: 20000
            min_free_gb: 50
            command: /opt/venv/bin/python  -m ringrift_cli
          - name: gpu2
            ssh: gpu2
        """)
    first, second = load_hosts(path)
    assert (first.user, first.hostname, first.port) == ("trainer", "gpu1.example.org", 2222)
    assert first.known_hosts == "/etc/ringrift/known_hosts" and first.bwlimit == 20000 and first.min_free_gb == 50.0
    assert first.command_words == ("/opt/venv/bin/python", "-m", "ringrift_cli")
    assert (second.user, second.port, second.known_hosts, second.bwlimit) == (None, 22, "~/.ssh/known_hosts", None)


@pytest.mark.parametrize("text", ["", "hosts:\n", "hosts: []\n"])
def test_a_file_listing_no_host_means_the_local_machine(tmp_path, text):
    hosts = load_hosts(write(tmp_path, text))
    assert [(host.name, host.is_local) for host in hosts] == [("local", True)]


def test_hosts_file_search_order(tmp_path, monkeypatch, isolated_home):
    monkeypatch.chdir(tmp_path)
    result = run_cli("hosts", "ls")
    assert result.exit_code == 2
    assert f"looked for --hosts, $RINGRIFT_HOSTS, then {isolated_home}/hosts.yaml and ./hosts.yaml" in result.output
    (tmp_path / "hosts.yaml").write_text("hosts:\n  - name: cwd\n    ssh: local\n")
    assert json.loads(run_cli("hosts", "ls", "--json").output)[0]["name"] == "cwd"
    isolated_home.mkdir()
    (isolated_home / "hosts.yaml").write_text("hosts:\n  - name: home\n    ssh: local\n")
    assert json.loads(run_cli("hosts", "ls", "--json").output)[0]["name"] == "home"
    named = write(tmp_path / "..", "hosts:\n  - name: env\n    ssh: local\n")
    monkeypatch.setenv("RINGRIFT_HOSTS", str(named))
    assert json.loads(run_cli("hosts", "ls", "--json").output)[0]["name"] == "env"
    flag = tmp_path / "flag.yaml"
    flag.write_text("hosts:\n  - name: flag\n    ssh: local\n")
    assert json.loads(run_cli("hosts", "ls", "--hosts", str(flag), "--json").output)[0]["name"] == "flag"
    monkeypatch.setenv("RINGRIFT_HOSTS", str(tmp_path / "gone.yaml"))
    result = run_cli("hosts", "ls")
    assert result.exit_code == 2 and f"no hosts file at {tmp_path / 'gone.yaml'}" in result.output
