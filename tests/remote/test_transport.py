"""The transports against real sshd: quoting, host keys enforced, files verified at both ends."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ringrift_cli.remote.hosts_file import Host, load_hosts
from ringrift_cli.remote.transfer import FileToMove, TransferRefused, pull_files, push_files
from ringrift_cli.remote.transport import HostKeyRefused, LocalTransport, TransportError, open_transport

AWKWARD = ["a b", "$(touch /tmp/ringrift-pwned)", "'q'\"", "; rm -rf /", "`id`", "-n", "*", "~", "\\n"]


def hosts(lab, **kwargs) -> list[Host]:
    return load_hosts(lab.hosts_yaml(**kwargs))


def flip_byte(path: Path, offset: int = 10) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def payload(root: Path, name="models/hex8_2p/model.pt", size=200_000) -> FileToMove:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return FileToMove(name, hashlib.sha256(path.read_bytes()).hexdigest())


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
    item = payload(tmp_path / "local")
    remote = str(ssh_lab.home(ssh_lab.servers[0]))
    with open_transport(host) as transport:
        with pytest.raises(HostKeyRefused, match=r"host key of \[127.0.0.1\]:\d+ is unknown"):
            transport.run(["true"])
        with pytest.raises(HostKeyRefused, match="refused the host key"):
            transport.put(tmp_path / "local", remote, [item.path])
    assert empty.read_text() == ""
    assert not (Path(remote) / item.path).exists()


def test_changed_host_key_is_refused(ssh_lab, tmp_path):
    first, second = ssh_lab.servers
    swapped = tmp_path / "swapped_known_hosts"
    swapped.write_text(f"[127.0.0.1]:{first.port} {second.host_key}\n")
    host = hosts(ssh_lab, known_hosts=swapped)[0]
    item = payload(tmp_path / "local")
    with open_transport(host) as transport:
        with pytest.raises(HostKeyRefused, match="has CHANGED"):
            transport.run(["true"])
        with pytest.raises(HostKeyRefused, match="refused the host key"):
            transport.get(str(tmp_path / "local"), tmp_path / "back", [item.path])
    assert swapped.read_text() == f"[127.0.0.1]:{first.port} {second.host_key}\n"
    assert not (tmp_path / "back" / item.path).exists()


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
    local = tmp_path / "local"
    items = [payload(local), payload(local, "games/hex8_2p/shard-1.db", 50_000), payload(local, "top.bin", 10)]
    for host, server in zip(hosts(ssh_lab, extra="bwlimit: 100000"), ssh_lab.servers):
        remote = ssh_lab.home(server)
        with open_transport(host) as transport:
            first = push_files(transport, local, str(remote), items)
            assert [item.sent for item in first.moved] == [True] * 3 and not first.refused
            assert first.bytes_sent == 250_010
            for item in items:
                assert (remote / item.path).read_bytes() == (local / item.path).read_bytes()
            assert [item.sent for item in push_files(transport, local, str(remote), items).moved] == [False] * 3
            back = tmp_path / host.name
            assert [item.sent for item in pull_files(transport, str(remote), back, items).moved] == [True] * 3
            for item in items:
                assert (back / item.path).read_bytes() == (local / item.path).read_bytes()
            assert sorted(path.name for path in back.iterdir()) == ["games", "models", "top.bin"]
            assert [item.sent for item in pull_files(transport, str(remote), back, items).moved] == [False] * 3


def test_home_relative_remote_roots_expand_on_the_host(ssh_lab, tmp_path):
    item = payload(tmp_path, size=1000)
    host = hosts(ssh_lab)[0]
    target = os.path.expanduser("~/ringrift-test-transfer")
    with open_transport(host) as transport:
        try:
            assert push_files(transport, tmp_path, "~/ringrift-test-transfer", [item]).moved[0].sent
            assert (Path(target) / item.path).read_bytes() == (tmp_path / item.path).read_bytes()
        finally:
            transport.run(["rm", "-rf", "--", target])


class FlipAfterCopy(LocalTransport):
    """The real transport, with each file damaged between its arrival and its check."""

    def __init__(self, inner):
        super().__init__(inner.host)
        self.inner = inner

    def run(self, argv, **kwargs):
        return self.inner.run(argv, **kwargs)

    def start(self, argv, first):
        return self.inner.start(argv, first)

    def put(self, local_root, remote_root, paths, **kwargs):
        copied = self.inner.put(local_root, remote_root, paths, **kwargs)
        flip_byte(Path(remote_root) / paths[0])  # the host is this machine: its files are here
        return copied

    def get(self, remote_root, local_root, paths):
        self.inner.get(remote_root, local_root, paths)
        flip_byte(local_root / paths[0])

    def expand(self, path):
        return self.inner.expand(path)


@pytest.mark.parametrize("which", ["ssh", "local"])
def test_a_file_damaged_after_transfer_is_refused_and_removed(ssh_lab, tmp_path, which):
    local = tmp_path / "local"
    damaged, intact = payload(local, "a.bin"), payload(local, "b.bin")
    host = hosts(ssh_lab)[0] if which == "ssh" else Host(name="local", ssh="local")
    remote = ssh_lab.home(ssh_lab.servers[0])
    with open_transport(host) as inner:
        transport = FlipAfterCopy(inner)
        batch = push_files(transport, local, str(remote), [damaged, intact])
        assert [item.path for item in batch.refused] == ["a.bin"]
        assert "arrived on" in batch.refused[0].refused and "the copy was deleted" in batch.refused[0].refused
        assert not (remote / "a.bin").exists() and (remote / "b.bin").is_file()
        assert not push_files(inner, local, str(remote), [damaged]).refused
        back = tmp_path / "back"
        batch = pull_files(transport, str(remote), back, [damaged, intact])
        assert [item.path for item in batch.refused] == ["a.bin"] and "arrived with sha256" in batch.refused[0].refused
        assert sorted(path.name for path in back.iterdir()) == ["b.bin"]


def test_pull_refuses_a_file_that_changed_on_the_host(ssh_lab, tmp_path):
    remote = ssh_lab.home(ssh_lab.servers[1])
    changed, gone = payload(remote, "games.db"), FileToMove("gone.db", "0" * 64)
    flip_byte(remote / "games.db")
    back = tmp_path / "back"
    with open_transport(hosts(ssh_lab)[1]) as transport:
        batch = pull_files(transport, str(remote), back, [changed, gone])
    assert [item.sent for item in batch.moved] == [False, False]
    assert "arrived with sha256" in batch.moved[0].refused and "none (no such file)" in batch.moved[1].refused
    assert not (back / "games.db").exists()


def test_push_refuses_a_changed_local_file_a_full_host_and_odd_paths(ssh_lab, tmp_path):
    item = payload(tmp_path)
    remote = ssh_lab.home(ssh_lab.servers[0])
    full, roomy = hosts(ssh_lab, extra="min_free_gb: 1000000")[0], hosts(ssh_lab, name="roomy.yaml")[0]
    with open_transport(full) as transport:
        with pytest.raises(TransferRefused, match="would leave less than its min_free_gb 1000000"):
            push_files(transport, tmp_path, str(remote), [item])
        for odd in ("../etc/passwd", "/etc/passwd", "a//b", "-rf", "a b", "a\nb", "a\\b"):
            with pytest.raises(TransferRefused, match="not a plain relative path"):
                push_files(transport, tmp_path, str(remote), [FileToMove(odd, item.sha256)])
    flip_byte(tmp_path / item.path)
    with open_transport(roomy) as transport:
        refused = push_files(transport, tmp_path, str(remote), [item, FileToMove("absent.bin", item.sha256)]).refused
    assert "no longer matches its registered sha256; the copy sent was deleted" in refused[0].refused
    assert "absent.bin is missing" in refused[1].refused
    assert not (remote / item.path).exists()


def test_rsync_runs_ssh_with_the_hosts_limits_and_strict_keys(ssh_lab):
    from ringrift_cli.remote.ssh import SshTransport

    host = hosts(ssh_lab, extra="bwlimit: 1234")[0]
    argv = SshTransport(host).rsync_argv("a/", "b/")
    assert "--bwlimit=1234" in argv and "--partial" in argv and argv[-3:] == ["--", "a/", "b/"]
    ssh = argv[argv.index("-e") + 1]
    assert "StrictHostKeyChecking=yes" in ssh and f"UserKnownHostsFile={ssh_lab.known_hosts}" in ssh
    assert f"-i {ssh_lab.client_key}" in ssh and "PasswordAuthentication=no" in ssh


@pytest.mark.parametrize("which", ["ssh", "local"])
def test_a_wrong_copy_with_the_same_size_and_time_is_sent_again(ssh_lab, tmp_path, which):
    """rsync's quick check keeps such a copy; the hash on the host does not, and the file is sent again."""
    local = tmp_path / "local"
    item = payload(local, "npz/hex8_2p/shard.npz", 100_000)
    remote = ssh_lab.home(ssh_lab.servers[0])
    stale = remote / item.path
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes((local / item.path).read_bytes())
    flip_byte(stale)
    source = (local / item.path).stat()
    os.utime(stale, ns=(source.st_atime_ns, source.st_mtime_ns))
    host = hosts(ssh_lab)[0] if which == "ssh" else Host(name="local", ssh="local")
    with open_transport(host) as transport:
        (moved,) = push_files(transport, local, str(remote), [item]).moved
    assert moved.sent and not moved.refused
    assert stale.read_bytes() == (local / item.path).read_bytes()


@pytest.mark.parametrize("which", ["ssh", "local"])
def test_a_push_to_a_roomy_host_asks_it_nothing_before_sending(ssh_lab, tmp_path, monkeypatch, which):
    """Free disk is checked where rsync's receiver starts; the exact check (a round trip) only when short."""
    from ringrift_cli.remote import transfer

    asked = []
    real = transfer.host_state
    monkeypatch.setattr(transfer, "host_state", lambda *args: asked.append(args) or real(*args))
    item = payload(tmp_path / "local", size=1000)
    host = hosts(ssh_lab)[0] if which == "ssh" else Host(name="local", ssh="local")
    assert host.min_free_gb == 1.0
    remote = ssh_lab.home(ssh_lab.servers[0])
    with open_transport(host) as transport:
        assert push_files(transport, tmp_path / "local", str(remote), [item]).moved[0].sent
    assert asked == []
