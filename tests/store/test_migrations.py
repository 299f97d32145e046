"""The state file: creation, idempotent init, forward migration, refusal of newer files."""

from __future__ import annotations

import sqlite3

import pytest

from ringrift_testing import run_cli
from ringrift_cli.store import SCHEMA_VERSION, StateFileError, create_store, migrations, open_store

TABLES = {"jobs", "events", "settings", "breakers", "hosts", "artifacts", "models", "matches", "ticks"}


def dump(path):
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump()), conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_init_creates_every_table_in_wal_mode(home):
    conn = sqlite3.connect(home / "queue.db")
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert TABLES <= names
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for sub in ("games", "npz", "models", "runs"):
        assert (home / sub).is_dir()


def test_init_again_changes_nothing(home):
    before = dump(home / "queue.db")
    result = run_cli("init")
    assert result.exit_code == 0 and "nothing changed" in result.output
    assert dump(home / "queue.db") == before


def test_older_schema_migrates_forward_on_open(home, monkeypatch):
    def add_notes_table(conn):
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, add_notes_table])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = open_store(home / "queue.db")
    try:
        assert store.read("PRAGMA user_version")[0][0] == SCHEMA_VERSION + 1
        applied = [row["name"] for row in store.read("SELECT name FROM migrations ORDER BY version")]
        assert applied[-1] == "add_notes_table"
        store.read("SELECT * FROM notes")
    finally:
        store.close()


def test_failed_migration_leaves_file_unchanged(home, monkeypatch):
    def broken(conn):
        conn.execute("CREATE TABLE half (id INTEGER)")
        raise RuntimeError("migration bug")

    before = dump(home / "queue.db")
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, broken])
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(RuntimeError):
        open_store(home / "queue.db")
    assert dump(home / "queue.db") == before


def test_newer_schema_is_refused_with_clear_message(home):
    conn = sqlite3.connect(home / "queue.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StateFileError, match="newer than this ringrift"):
        open_store(home / "queue.db")
    result = run_cli("status")
    assert result.exit_code == 2 and "upgrade ringrift" in result.output


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StateFileError, match="not a ringrift state file"):
        open_store(path)


def test_create_store_on_existing_file_applies_nothing(home):
    store, applied = create_store(home / "queue.db")
    store.close()
    assert applied == []


def test_version_one_models_migrate_to_best_with_a_widened_check(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    migrations.create_core_tables(conn)
    conn.execute("INSERT INTO migrations VALUES (1, 'create_core_tables', 0)")
    conn.execute("INSERT INTO artifacts (kind, config_key, path, sha256, bytes, created_at) "
                 "VALUES ('model', 'hex8_2p', 'models/a.pt', 'aa', 1, 0)")
    conn.execute("INSERT INTO models (id, config_key, artifact_id, status, created_at, updated_at) "
                 "VALUES ('m1', 'hex8_2p', 1, 'promoted', 0, 0)")
    conn.execute("INSERT INTO models (id, config_key, artifact_id, parent_id, created_at, updated_at) "
                 "VALUES ('m2', 'hex8_2p', 1, 'm1', 0, 0)")
    conn.execute("COMMIT")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    store = open_store(path)
    try:
        rows = {row["id"]: dict(row) for row in store.read("SELECT * FROM models")}
        assert rows["m1"]["status"] == "best" and rows["m2"]["parent_id"] == "m1"
        assert rows["m2"]["status"] == "candidate" and rows["m2"]["lineage"] == "{}"
        with pytest.raises(sqlite3.IntegrityError):  # the old word is refused now
            with store.write() as db:
                db.execute("UPDATE models SET status = 'promoted' WHERE id = 'm2'")
        with pytest.raises(sqlite3.IntegrityError):  # one best per config
            with store.write() as db:
                db.execute("UPDATE models SET status = 'best' WHERE id = 'm2'")
        assert store.read("PRAGMA foreign_key_check") == []
    finally:
        store.close()
