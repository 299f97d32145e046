"""`ringrift sync` against the two real sshd hosts: games pulled, the best model pushed, sha256 at both ends."""

from __future__ import annotations

import json

from ringrift_cli.context import open_context
from ringrift_cli.files import sha256_of
from ringrift_testing import read_rows, run_cli


def make_best_model(home):
    """A tiny model file registered and promoted, as the loop would leave it."""
    from ringrift_cli.ai.encoding import ENCODER_VERSION
    from ringrift_cli.ai.net import new_net, save_model
    from ringrift_cli.store.artifacts import register_artifact_in
    from ringrift_cli.store.models import promote_in, register_model_in

    net, info = new_net("hex8_2p", "tiny")
    staged = home / "models" / "hex8_2p" / "staged.pt"
    save_model(staged, net, info)
    digest = sha256_of(staged)
    final = staged.with_name(f"{digest[:16]}.pt")
    staged.rename(final)
    relative = str(final.relative_to(home))
    with open_context(home) as ctx, ctx.store.write() as conn:
        artifact, _ = register_artifact_in(conn, kind="model", config_key="hex8_2p", path=relative, sha256=digest,
                                           size=final.stat().st_size)
        model, _ = register_model_in(conn, model_id=digest, config_key="hex8_2p", artifact_id=artifact.id,
                                     parent_id=None, metrics={}, lineage={}, encoder_version=ENCODER_VERSION,
                                     job_id=None)
        promote_in(conn, model, None, {})
    return relative, digest


def test_sync_pulls_games_made_on_a_host_once_and_registers_them_with_it(ssh_lab, home):
    h1 = ssh_lab.home(ssh_lab.servers[0])
    assert run_cli("init", "--home", str(h1)).exit_code == 0  # the host's own data root, as a user there has it
    made = run_cli("selfplay", "hex8_2p", "--games", "1", "--sims", "2", "--model", "none", "--seed", "9",
                   "--home", str(h1), "--json")
    assert made.exit_code == 0, made.output
    shard = json.loads(made.output)["path"]
    hosts = str(ssh_lab.hosts_yaml())

    dry = run_cli("sync", "--kind", "games", "--dry-run", "--hosts", hosts, "--json")
    assert dry.exit_code == 0, dry.output
    planned = {report["host"]: report["pulled"] for report in json.loads(dry.output)}
    assert planned == {"h1": [f"hosts/h1/{shard}"], "h2": []}
    assert read_rows(home, "SELECT * FROM artifacts") == [] and not (home / "hosts").exists()

    done = run_cli("sync", "--kind", "games", "--hosts", hosts, "--json")
    assert done.exit_code == 0, done.output
    (artifact,) = read_rows(home, "SELECT * FROM artifacts")
    assert artifact["host"] == "h1" and artifact["path"] == f"hosts/h1/{shard}" and artifact["kind"] == "games"
    assert sha256_of(home / artifact["path"]) == artifact["sha256"] == sha256_of(h1 / shard)
    assert json.loads(artifact["meta"])["games"] == 1

    again = run_cli("sync", "--hosts", hosts, "--json")
    assert again.exit_code == 0, again.output
    assert all(report["pulled"] == [] and report["bytes"] == 0 for report in json.loads(again.output))
    assert len(read_rows(home, "SELECT * FROM artifacts")) == 1


def test_sync_pushes_the_best_model_to_selfplay_hosts_and_not_below_min_free(ssh_lab, home):
    relative, digest = make_best_model(home)
    hosts = str(ssh_lab.hosts_yaml())
    result = run_cli("sync", "--kind", "models", "--hosts", hosts, "--json")
    assert result.exit_code == 0, result.output
    assert {r["host"]: r["pushed"] for r in json.loads(result.output)} == {"h1": [relative], "h2": [relative]}
    for server in ssh_lab.servers:
        assert sha256_of(ssh_lab.home(server) / relative) == digest
    again = run_cli("sync", "--kind", "models", "--hosts", hosts, "--json")
    assert all(r["pushed"] == [] for r in json.loads(again.output)), "nothing sent twice"

    (ssh_lab.home(ssh_lab.servers[0]) / relative).unlink()
    full = ssh_lab.hosts_yaml(extra="min_free_gb: 1000000", name="full.yaml")
    refused = run_cli("sync", "--kind", "models", "--host", "h1", "--hosts", str(full), "--json")
    assert refused.exit_code == 1
    (report,) = json.loads(refused.output)
    assert report["pushed"] == [] and "min_free_gb" in report["refused"][0]
    assert not (ssh_lab.home(ssh_lab.servers[0]) / relative).exists()


def test_sync_names_a_bad_kind_or_host_in_one_line(ssh_lab, home):
    hosts = str(ssh_lab.hosts_yaml())
    for args in (["--kind", "everything"], ["--host", "h9"]):
        result = run_cli("sync", "--hosts", hosts, *args)
        assert result.exit_code == 2 and "Traceback" not in result.output
