//! The metastore's SQLite schema, as the migrations that build it.

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE catalogs (
    name TEXT PRIMARY KEY,
    comment TEXT,
    managed_location TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE schemas (
    catalog TEXT NOT NULL REFERENCES catalogs(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    comment TEXT,
    managed_location TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (catalog, name)
);
CREATE TABLE tables (
    id TEXT NOT NULL UNIQUE,
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT,
    columns TEXT NOT NULL,
    partition_columns TEXT NOT NULL,
    properties TEXT NOT NULL,
    comment TEXT,
    view_definition TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (catalog, schema, name),
    FOREIGN KEY (catalog, schema) REFERENCES schemas(catalog, name) ON DELETE CASCADE
);
CREATE TABLE tags (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    tbl TEXT NOT NULL,
    col TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (catalog, schema, tbl, col, key)
);
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    salt BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    salted_password BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE groups (
    name TEXT PRIMARY KEY,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE group_members (
    group_name TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
    member_kind TEXT NOT NULL CHECK (member_kind IN ('USER', 'GROUP')),
    member TEXT NOT NULL,
    PRIMARY KEY (group_name, member_kind, member)
);
CREATE TABLE grants (
    object_type TEXT NOT NULL,
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    col TEXT NOT NULL,
    principal TEXT NOT NULL,
    privilege TEXT NOT NULL,
    grantor TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (object_type, catalog, schema, name, col, principal, privilege)
);
CREATE INDEX grants_by_principal ON grants (principal);
CREATE TABLE functions (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    return_type TEXT NOT NULL,
    body TEXT NOT NULL,
    comment TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (catalog, schema, name),
    FOREIGN KEY (catalog, schema) REFERENCES schemas(catalog, name) ON DELETE CASCADE
);
CREATE TABLE table_policies (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    tbl TEXT NOT NULL,
    col TEXT NOT NULL,
    function TEXT NOT NULL,
    using_columns TEXT NOT NULL,
    PRIMARY KEY (catalog, schema, tbl, col)
);
INSERT INTO groups (name, created_at_ms) VALUES ('admins', 0);
INSERT INTO group_members (group_name, member_kind, member) VALUES ('admins', 'USER', 'admin');
"#,
    r#"
CREATE TABLE procedures (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    params TEXT NOT NULL,
    body TEXT NOT NULL,
    definer INTEGER NOT NULL,
    comment TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (catalog, schema, name),
    FOREIGN KEY (catalog, schema) REFERENCES schemas(catalog, name) ON DELETE CASCADE
);
"#,
    r#"
CREATE TABLE job_runs (
    run_id TEXT PRIMARY KEY,
    procedure TEXT NOT NULL,
    arguments TEXT NOT NULL,
    user TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    statements INTEGER NOT NULL,
    rows_written INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX job_runs_state ON job_runs (state, started_at_ms);
"#,
    r#"
CREATE TABLE schedules (
    catalog TEXT NOT NULL,
    schema TEXT NOT NULL,
    name TEXT NOT NULL,
    cron TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    call TEXT NOT NULL,
    procedure TEXT NOT NULL,
    owner TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    comment TEXT,
    created_at_ms INTEGER NOT NULL,
    next_fire_at_ms INTEGER,
    last_fire_at_ms INTEGER,
    last_run_id TEXT,
    skipped_fires INTEGER NOT NULL,
    PRIMARY KEY (catalog, schema, name),
    FOREIGN KEY (catalog, schema) REFERENCES schemas(catalog, name) ON DELETE CASCADE
);
ALTER TABLE job_runs ADD COLUMN schedule TEXT;
"#,
    r#"
CREATE TABLE copy_files (
    table_id TEXT NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    statement_id TEXT NOT NULL,
    confirmed INTEGER NOT NULL,
    loaded_at_ms INTEGER NOT NULL,
    PRIMARY KEY (table_id, path, size, modified_ms)
);
CREATE INDEX copy_files_statement ON copy_files (statement_id);
"#,
    r#"
CREATE TABLE ingest_runs (
    run_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    source TEXT NOT NULL,
    pattern TEXT NOT NULL,
    target_schema TEXT NOT NULL,
    mode TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    files_listed INTEGER NOT NULL,
    files_skipped INTEGER NOT NULL,
    files_unmatched INTEGER NOT NULL,
    files_read INTEGER NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_written INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    error TEXT
);
CREATE TABLE ingest_run_tables (
    run_id TEXT NOT NULL REFERENCES ingest_runs(run_id) ON DELETE CASCADE,
    table_name TEXT NOT NULL,
    status TEXT NOT NULL,
    files INTEGER NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_written INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    rows_deduplicated INTEGER NOT NULL,
    columns_added TEXT,
    null_ratios TEXT NOT NULL,
    seconds_read REAL NOT NULL,
    seconds_check REAL NOT NULL,
    seconds_publish REAL NOT NULL,
    PRIMARY KEY (run_id, table_name)
);
CREATE TABLE ingest_checks (
    run_id TEXT NOT NULL REFERENCES ingest_runs(run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    table_name TEXT,
    check_name TEXT NOT NULL,
    severity TEXT NOT NULL,
    passed INTEGER NOT NULL,
    observed TEXT,
    threshold TEXT,
    message TEXT,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE ingest_sources (
    target_schema TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    table_ids TEXT NOT NULL,
    PRIMARY KEY (target_schema, path, size, modified_ms)
);
"#,
    // 8: external locations (storage URLs others may read files under).
    r#"
CREATE TABLE external_locations (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    comment TEXT,
    owner TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
"#,
];
