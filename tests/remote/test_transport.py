"""The transports against real sshd: quoting, host keys enforced, files verified at both ends."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ringrift_cli.remote.hosts_file import Host, load_hosts
from ringrift_cli.remote.transfer import TransferRefused, pull_file, push_artifact
from ringrift_cli.remote.transport import HostKeyRefused, LocalTransport, TransportError, open_transport

AWKWARD = ["a b", "$(touch /tmp/ringrift-pwned)", "'q'\"", "; rm -rf /", "`id`", "-n", "*", "~", "\\n"]


def hosts(lab, **kwargs) -> list[Host]:
    return load_hosts(lab.hosts_yaml(**kwargs))


def flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def payload(tmp_path, size=200_000) -> tuple[Path, str]:
    path = tmp_path / "model.pt"
    path.write_bytes(os.urandom(size))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_word_reaches_the_command_unchanged(ssh_lab):
    for host in [*hosts(ssh_lab), Host(name="local", ssh="local")]:
        with open_transport(host) as transport:
            result = transport.run(["printf", "%s|", *AWKWARD])
            assert result.ok, result.stderr
            assert result.stdout == "|".join(AWKWARD) + "|"
    assert not Path("/tmp/ringrift-pwned").exists()


def test_unknown_host_key_is_refused_and_never_added(ssh_lab, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    host = hosts(ssh_lab, known_hosts=empty)[0]
    local, sha = payload(tmp_path)
    with open_transport(host) as transport:
        with pytest.raises(HostKeyRefused, match=r"host key of \[127.0.0.1\]:\d+ is unknown"):
            transport.run(["true"])
        with pytest.raises(HostKeyRefused, match="refused the host key"):
            transport.put(local, str(ssh_lab.home(ssh_lab.servers[0]) / "model.pt"))
    assert empty.read_text() == ""
    assert not (ssh_lab.home(ssh_lab.servers[0]) / "model.pt").exists()


def test_changed_host_key_is_refused(ssh_lab, tmp_path):
    first, second = ssh_lab.servers
    swapped = tmp_path / "swapped_known_hosts"
    swapped.write_text(f"[127.0.0.1]:{first.port} {second.host_key}\n")
    host = hosts(ssh_lab, known_hosts=swapped)[0]
    local, _ = payload(tmp_path)
    with open_transport(host) as transport:
        with pytest.raises(HostKeyRefused, match="has CHANGED"):
            transport.run(["true"])
        with pytest.raises(HostKeyRefused, match="refused the host key"):
            transport.get(str(local), tmp_path / "back")
    assert swapped.read_text() == f"[127.0.0.1]:{first.port} {second.host_key}\n"


def test_missing_known_hosts_file_is_refused(ssh_lab, tmp_path):
    host = hosts(ssh_lab, known_hosts=tmp_path / "nowhere")[0]
    with open_transport(host) as transport, pytest.raises(HostKeyRefused, match="does not exist"):
        transport.run(["true"])


def test_a_key_the_host_does_not_accept_fails_without_trying_a_password(ssh_lab, tmp_path):
    import subprocess

    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    text = ssh_lab.hosts_yaml().read_text().replace(str(ssh_lab.client_key), str(stranger))
    (tmp_path / "stranger.yaml").write_text(text)
    host = load_hosts(tmp_path / "stranger.yaml")[0]
    with open_transport(host) as transport, pytest.raises(TransportError, match=f"refused key {stranger}"):
        transport.run(["true"])


def test_push_then_pull_round_trip_is_verified_and_idempotent(ssh_lab, tmp_path):
    local, sha = payload(tmp_path)
    for host, server in zip(hosts(ssh_lab, extra="bwlimit: 100000"), ssh_lab.servers):
        remote = f"{ssh_lab.home(server)}/models/hex8_2p/model.pt"
        with open_transport(host) as transport:
            first = push_artifact(transport, local, remote, sha)
            assert first.sent and first.bytes == local.stat().st_size
            assert Path(remote).read_bytes() == local.read_bytes()
            assert not push_artifact(transport, local, remote, sha).sent
            back = tmp_path / host.name / "model.pt"
            assert pull_file(transport, remote, back, sha).sent
            assert back.read_bytes() == local.read_bytes()
            assert not pull_file(transport, remote, back, sha).sent


def test_home_relative_remote_paths_expand_on_the_host(ssh_lab, tmp_path):
    local, sha = payload(tmp_path, size=1000)
    host = hosts(ssh_lab)[0]
    with open_transport(host) as transport:
        sent = push_artifact(transport, local, "~/ringrift-test-transfer/model.pt", sha)
        try:
            assert sent.remote == os.path.expanduser("~/ringrift-test-transfer/model.pt")
            assert Path(sent.remote).read_bytes() == local.read_bytes()
        finally:
            transport.run(["rm", "-rf", "--", os.path.dirname(sent.remote)])


class FlipAfterPut(LocalTransport):
    """The real transport, with the file damaged on the host between its arrival and its check."""

    def __init__(self, inner):
        super().__init__(inner.host)
        self.inner = inner

    def run(self, argv, **kwargs):
        return self.inner.run(argv, **kwargs)

    def put(self, local, remote):
        self.inner.put(local, remote)
        flip_byte(Path(remote))  # the host is this machine: its file is here

    def get(self, remote, local):
        self.inner.get(remote, local)
        flip_byte(local)

    def expand(self, path):
        return self.inner.expand(path)


@pytest.mark.parametrize("which", ["ssh", "local"])
def test_a_file_damaged_after_transfer_is_refused_and_removed(ssh_lab, tmp_path, which):
    local, sha = payload(tmp_path)
    host = hosts(ssh_lab)[0] if which == "ssh" else Host(name="local", ssh="local")
    remote = str(ssh_lab.home(ssh_lab.servers[0]) / "model.pt")
    with open_transport(host) as inner:
        transport = FlipAfterPut(inner)
        with pytest.raises(TransferRefused, match="arrived on .* not .* the copy was deleted"):
            push_artifact(transport, local, remote, sha)
        assert not Path(remote).exists()
        push_artifact(inner, local, remote, sha)
        back = tmp_path / "back" / "model.pt"
        with pytest.raises(TransferRefused, match="arrived with sha256"):
            pull_file(transport, remote, back, sha)
        assert list(back.parent.iterdir()) == []


def test_pull_refuses_a_file_that_changed_on_the_host(ssh_lab, tmp_path):
    local, sha = payload(tmp_path)
    host = hosts(ssh_lab)[1]
    remote = ssh_lab.home(ssh_lab.servers[1]) / "games.db"
    remote.write_bytes(local.read_bytes())
    flip_byte(remote)
    back = tmp_path / "back.db"
    with open_transport(host) as transport:
        with pytest.raises(TransferRefused, match="not fetched"):
            pull_file(transport, str(remote), back, sha)
        with pytest.raises(TransferRefused, match="no such file"):
            pull_file(transport, str(remote) + ".gone", back, sha)
    assert not back.exists()


def test_push_refuses_a_changed_local_file_and_a_full_host(ssh_lab, tmp_path):
    local, sha = payload(tmp_path)
    remote = str(ssh_lab.home(ssh_lab.servers[0]) / "model.pt")
    with open_transport(hosts(ssh_lab, extra="min_free_gb: 1000000")[0]) as transport:
        with pytest.raises(TransferRefused, match="would leave less than its min_free_gb 1000000"):
            push_artifact(transport, local, remote, sha)
        flip_byte(local)
        with pytest.raises(TransferRefused, match="no longer matches its registered sha256"):
            push_artifact(transport, local, remote, sha)
    assert not Path(remote).exists()


def test_rsync_runs_ssh_with_the_hosts_limits_and_strict_keys(ssh_lab):
    from ringrift_cli.remote.ssh import SshTransport

    host = hosts(ssh_lab, extra="bwlimit: 1234")[0]
    argv = SshTransport(host).rsync_argv("a", "b")
    assert "--bwlimit=1234" in argv and "--partial" in argv and argv[-3:] == ["--", "a", "b"]
    ssh = argv[argv.index("-e") + 1]
    assert "StrictHostKeyChecking=yes" in ssh and f"UserKnownHostsFile={ssh_lab.known_hosts}" in ssh
    assert f"-i {ssh_lab.client_key}" in ssh and "PasswordAuthentication=no" in ssh
