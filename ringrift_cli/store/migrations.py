"""The schema's history: one function per version, applied in order, never edited.

``PRAGMA user_version`` holds the number of migrations applied; the
``migrations`` table records when each ran. To change the schema, append a
function to ``MIGRATIONS``; a file written by a newer ringrift (a higher
version than this list knows) is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from typing import Callable

from .db import StateFileError, now


def run_statements(conn: sqlite3.Connection, script: str) -> None:
    """Execute each statement of ``script`` inside the caller's transaction.

    ``executescript`` would commit the open transaction first, so a failed
    migration could leave half a schema behind.
    """
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        # A ';' inside a comment or string does not end a statement.
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                conn.execute(pending)
            pending = ""
    if pending.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:80]}")


def create_core_tables(conn: sqlite3.Connection) -> None:
    run_statements(
        conn,
        """
        CREATE TABLE migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at REAL NOT NULL
        );

        -- AUTOINCREMENT: a purge must never let a new job take an old job's id, because
        -- output files are named after the job.
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            config_key TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'claimed', 'done', 'dead', 'cancelled')),
            priority INTEGER NOT NULL DEFAULT 0 CHECK (priority >= 0),
            host TEXT,
            claimed_by TEXT,
            lease_until REAL,
            heartbeat_at REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
            not_before REAL NOT NULL DEFAULT 0,
            dedup_key TEXT UNIQUE,
            trace_id TEXT NOT NULL,
            parent_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
            result TEXT,
            error TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            -- Counts every claim and is never reset (unlike attempts, which retry and
            -- release give back): with the worker name it fences a stale holder.
            claim_seq INTEGER NOT NULL DEFAULT 0
        );
        -- Only partial indexes: a state change then touches the index of the state it
        -- leaves and the one it enters, nothing else (each page written costs WAL time).
        -- The claim walks jobs_ready in priority order and stops at the first fit.
        CREATE INDEX jobs_ready ON jobs (priority DESC, id) WHERE status = 'queued';
        CREATE INDEX jobs_leased ON jobs (lease_until) WHERE status = 'claimed';
        CREATE INDEX jobs_dead ON jobs (updated_at) WHERE status = 'dead';

        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            config_key TEXT,
            payload TEXT NOT NULL,
            job_id INTEGER,
            dedup_key TEXT,
            created_at REAL NOT NULL
        );
        -- Consumers read events by id (the primary key) from their cursor. No index on
        -- job_id: every queue operation appends an event and the index cost a quarter
        -- of the queue's throughput; `queue show` scans instead.
        CREATE UNIQUE INDEX events_dedup ON events (dedup_key) WHERE dedup_key IS NOT NULL;

        CREATE TABLE event_cursors (
            consumer TEXT PRIMARY KEY,
            last_event_id INTEGER NOT NULL,
            updated_at REAL NOT NULL
        );

        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('cli')),
            updated_at REAL NOT NULL
        );

        CREATE TABLE breakers (
            scope TEXT PRIMARY KEY,
            state TEXT NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
            failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            opened_at REAL,
            retry_at REAL,
            updated_at REAL NOT NULL
        );

        CREATE TABLE hosts (
            name TEXT PRIMARY KEY,
            ssh TEXT NOT NULL,
            slots INTEGER NOT NULL,
            gpus INTEGER NOT NULL,
            roles TEXT NOT NULL,
            home TEXT NOT NULL,
            last_seen REAL,
            health TEXT,
            updated_at REAL NOT NULL
        );

        CREATE TABLE artifacts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('games', 'npz', 'model', 'log')),
            config_key TEXT NOT NULL,
            path TEXT NOT NULL,
            host TEXT NOT NULL DEFAULT 'local',
            sha256 TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}',
            job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
            created_at REAL NOT NULL,
            UNIQUE (host, path)
        );
        CREATE INDEX artifacts_kind ON artifacts (config_key, kind, id);

        -- Lineage: which artifacts an artifact was made from (games shards -> NPZ shard,
        -- NPZ shards -> model). "Not yet exported" is "not yet an input of an NPZ".
        CREATE TABLE artifact_inputs (
            artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
            input_id INTEGER NOT NULL REFERENCES artifacts(id),
            PRIMARY KEY (artifact_id, input_id)
        );
        CREATE INDEX artifact_inputs_input ON artifact_inputs (input_id);

        -- Artifacts a stage looked at and set aside: a games shard that failed its
        -- checksum or replay (quarantined), was recorded with another encoder, or
        -- held no exportable game. Export does not read them again.
        CREATE TABLE artifact_flags (
            artifact_id INTEGER PRIMARY KEY REFERENCES artifacts(id) ON DELETE CASCADE,
            flag TEXT NOT NULL CHECK (flag IN ('quarantined', 'other_encoder', 'no_samples')),
            reason TEXT NOT NULL,
            job_id INTEGER,
            created_at REAL NOT NULL
        );

        CREATE TABLE models (
            id TEXT PRIMARY KEY,
            config_key TEXT NOT NULL,
            artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
            parent_id TEXT REFERENCES models(id),
            metrics TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL DEFAULT 'candidate'
                CHECK (status IN ('candidate', 'promoted', 'rejected', 'retired')),
            elo REAL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX models_config ON models (config_key, status);

        CREATE TABLE matches (
            id INTEGER PRIMARY KEY,
            config_key TEXT NOT NULL,
            player_a TEXT NOT NULL,
            player_b TEXT NOT NULL,
            wins INTEGER NOT NULL,
            losses INTEGER NOT NULL,
            draws INTEGER NOT NULL,
            games INTEGER NOT NULL,
            job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX matches_config ON matches (config_key, id);

        CREATE TABLE ticks (
            id INTEGER PRIMARY KEY,
            started_at REAL NOT NULL,
            finished_at REAL,
            actions TEXT NOT NULL DEFAULT '[]',
            errors TEXT NOT NULL DEFAULT '[]'
        );
        """
    )


def model_lifecycle(conn: sqlite3.Connection) -> None:
    """Models get lineage, the gate's evidence and the statuses candidate/best/rejected/retired
    (at most one best per config); matches become one row per finished game (append-only)."""
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    models = db["models"]
    for column in ("lineage", "evidence"):
        models.add_column(column, str, not_null_default="{}")
    models.add_column("encoder_version", int)
    models.add_column("reason", str)
    models.add_column("job_id", int)
    # SQLite cannot alter a CHECK: the table is rebuilt. sqlite-utils writes the rebuild
    # (new table, copy, drop, rename); only the status list in its CREATE statement changes.
    statements = models.transform_sql()
    old_check = "'candidate', 'promoted', 'rejected', 'retired'"
    if old_check not in statements[0]:
        raise RuntimeError("models table does not have the expected status CHECK")
    statements[0] = statements[0].replace(old_check, "'candidate', 'best', 'rejected', 'retired'")
    insert, select = statements[1].split("SELECT", 1)
    statements[1] = insert + "SELECT" + select.replace(
        '"status"', "CASE \"status\" WHEN 'promoted' THEN 'best' ELSE \"status\" END", 1)
    # Dropping the old table deletes its rows, which would break every parent_id pointing at
    # them (foreign keys cannot be switched off inside the migration's transaction): lift the
    # parent links out while the table is rebuilt, then put them back.
    conn.execute("CREATE TEMP TABLE model_parents AS SELECT id, parent_id FROM models WHERE parent_id IS NOT NULL")
    conn.execute("UPDATE models SET parent_id = NULL")
    for statement in statements:
        conn.execute(statement)
    conn.execute("UPDATE models SET parent_id = (SELECT parent_id FROM model_parents p WHERE p.id = models.id)")
    conn.execute("DROP TABLE temp.model_parents")
    conn.execute("CREATE INDEX IF NOT EXISTS models_config ON models (config_key, status)")  # kept by newer sqlite-utils
    run_statements(conn, """
        CREATE UNIQUE INDEX models_one_best ON models (config_key) WHERE status = 'best';
        CREATE INDEX models_parent ON models (parent_id);

        DROP TABLE matches;
        CREATE TABLE matches (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            config_key TEXT NOT NULL,
            job_id INTEGER NOT NULL,
            game_index INTEGER NOT NULL,
            players TEXT NOT NULL,   -- JSON list: the participant in each seat
            ranks TEXT NOT NULL,     -- JSON list: each seat's finishing rank (1 = first; equal = draw)
            seed INTEGER NOT NULL,
            simulations INTEGER NOT NULL,
            moves INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('completed', 'capped')),
            created_at REAL NOT NULL,
            UNIQUE (job_id, game_index)
        );
        CREATE INDEX matches_config ON matches (config_key, id);
    """)


def add_loop_tables(conn: sqlite3.Connection) -> None:
    run_statements(
        conn,
        """
        -- Named locks with an expiry (the tick lock): a holder that died stops blocking
        -- the loop once expires_at has passed.
        CREATE TABLE locks (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at REAL NOT NULL,
            expires_at REAL NOT NULL
        );
        -- When the loop last did a periodic chore (e.g. PRAGMA optimize).
        CREATE TABLE loop_marks (
            name TEXT PRIMARY KEY,
            at REAL NOT NULL
        );
        CREATE INDEX ticks_started ON ticks (started_at);
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    create_core_tables,
    model_lifecycle,
    add_loop_tables,
]


SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def check_not_newer(conn: sqlite3.Connection, path: object) -> int:
    """Return the file's schema version; refuse one written by a newer ringrift."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StateFileError(
            f"{path} has schema version {version}, newer than this ringrift understands "
            f"({SCHEMA_VERSION}); upgrade ringrift to use it"
        )
    return version


def check_current(conn: sqlite3.Connection, path: object) -> None:
    """Refuse a file whose schema is older than ours (reading it would need a migration, a write)."""
    version = check_not_newer(conn, path)
    if version < SCHEMA_VERSION:
        raise StateFileError(f"{path} has schema version {version}, older than this ringrift's "
                             f"({SCHEMA_VERSION}); run `ringrift init --home {path}` to bring it up to date")


def migrate(conn: sqlite3.Connection, path: object) -> list[int]:
    """Bring the schema up to ``SCHEMA_VERSION``; return the versions applied (maybe none)."""
    if check_not_newer(conn, path) == SCHEMA_VERSION:
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        start = check_not_newer(conn, path)
        if start and not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
        ).fetchone():
            raise StateFileError(f"{path} is a SQLite file but not a ringrift state file")
        if start == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StateFileError(f"{path} is a SQLite file but not a ringrift state file")
        applied = []
        for version in range(start + 1, SCHEMA_VERSION + 1):
            step = MIGRATIONS[version - 1]
            step(conn)
            conn.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, step.__name__, now()),
            )
            applied.append(version)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied
