//! The audit log: one record per statement and per login attempt, and the table lineage of the
//! statements (which tables and views each one read and wrote), in a SQLite file of its own
//! beside the metastore (`audit.db`), so that its growth and pruning never touch the metastore.
//!
//! A record is written to SQLite's write-ahead log when its statement ends, before the end is
//! reported to the client, so it survives the server being killed. (`synchronous = NORMAL`: a
//! process crash loses nothing; a power loss may lose the last records, never corrupt the file.)
//! Records older than the retention are pruned when the log opens and every
//! [`PRUNE_EVERY`] records.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::store::{from_json, json, now_ms};

/// How often (in records written) old records are pruned.
pub const PRUNE_EVERY: u64 = 10_000;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// One audited event: a statement, or a login attempt (`action = "login"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When the statement started (or the login was attempted), in Unix milliseconds.
    pub event_time_ms: i64,
    pub user: String,
    /// `ip:port` of the client, when the front knows it.
    pub client_address: Option<String>,
    /// What the client says it is (PostgreSQL's `application_name`, Flight's `user-agent`).
    pub user_agent: Option<String>,
    /// The front: `postgres`, `flight` or `internal`.
    pub protocol: String,
    pub session_id: Option<String>,
    pub statement_id: Option<String>,
    /// The run (a script, procedure call or job) that executed the statement, if one did.
    pub run_id: Option<String>,
    /// What was done: the statement kind (`query`, `insert`, `grant`, ...), `login`, or
    /// `unparsed` for text that did not parse.
    pub action: String,
    /// `succeeded`, `failed`, or `abandoned` (its client went away before it ended).
    pub status: String,
    pub sqlstate: Option<String>,
    pub error_message: Option<String>,
    /// The statement's text, secrets redacted.
    pub statement_text: Option<String>,
    /// The tables and views the statement read, then those it wrote (`catalog.schema.table`).
    pub securables: Vec<String>,
    /// Rows returned, or for DML the rows affected.
    pub rows: Option<i64>,
    pub duration_ms: Option<i64>,
}

/// One table-lineage edge: a statement read `source` to write `target`. A read without a write
/// has no target; a write without a read (INSERT ... VALUES) is not an edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageEdge {
    pub event_time_ms: i64,
    pub statement_id: String,
    /// The user who ran the statement.
    pub created_by: String,
    /// `catalog.schema.table` and its type (`TABLE` or `VIEW`).
    pub source: (String, String),
    pub target: Option<(String, String)>,
    /// The run the statement belonged to, if one: see [`RunEntity`].
    pub entity: Option<RunEntity>,
}

/// What ran a statement that belongs to a run (Databricks' `entity_type`, `entity_id`,
/// `entity_run_id` of lineage rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEntity {
    /// `SCRIPT`, `PROCEDURE` or `JOB`.
    pub entity_type: String,
    /// A procedure's full name; a script's statement id.
    pub entity_id: String,
    pub run_id: String,
}

/// One column-lineage edge: a statement wrote `target_column` of `target` from
/// `source_column` of `source`, in the way `transformation` says (OpenLineage's type and
/// subtype: `DIRECT`/`IDENTITY`, `INDIRECT`/`FILTER`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnEdge {
    pub event_time_ms: i64,
    pub statement_id: String,
    pub created_by: String,
    /// `catalog.schema.table` and its type (`TABLE` or `VIEW`).
    pub source: (String, String),
    pub source_column: String,
    pub target: (String, String),
    pub target_column: String,
    pub transformation: (String, String),
    /// The source column's values were masked for the statement's user.
    pub masked: bool,
    pub entity: Option<RunEntity>,
}

/// Which end of a lineage edge a walk's step matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeEnd {
    Source,
    Target,
}

impl EdgeEnd {
    fn prefix(self) -> &'static str {
        match self {
            EdgeEnd::Source => "source",
            EdgeEnd::Target => "target",
        }
    }
}

/// A table lineage edge as walks see it: `(name, type)` of its source and its target.
pub type TableLink = ((String, String), (String, String));

/// A column lineage edge as walks see it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ColumnLink {
    pub source: (String, String),
    pub source_column: String,
    pub target: (String, String),
    pub target_column: String,
    pub transformation: (String, String),
    pub masked: bool,
}

/// The columns of `column_lineage` that make a [`ColumnLink`], in the order [`column_link`]
/// reads them.
const COLUMN_LINK: &str = "source_name, source_type, source_column, target_name, target_type,
    target_column, transformation_type, transformation_subtype, masked";

/// The [`ColumnLink`] in `row`, whose [`COLUMN_LINK`] columns start at `at`.
/// The run columns of a lineage row, from column `at`.
fn run_entity(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<RunEntity>> {
    let entity_type: Option<String> = row.get(at)?;
    let entity_id: Option<String> = row.get(at + 1)?;
    let run_id: Option<String> = row.get(at + 2)?;
    Ok(match (entity_type, entity_id, run_id) {
        (Some(entity_type), Some(entity_id), Some(run_id)) => Some(RunEntity {
            entity_type,
            entity_id,
            run_id,
        }),
        _ => None,
    })
}

fn column_link(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ColumnLink> {
    Ok(ColumnLink {
        source: (row.get(at)?, row.get(at + 1)?),
        source_column: row.get(at + 2)?,
        target: (row.get(at + 3)?, row.get(at + 4)?),
        target_column: row.get(at + 5)?,
        transformation: (row.get(at + 6)?, row.get(at + 7)?),
        masked: row.get(at + 8)?,
    })
}

/// Values bound per query when a walk's frontier is looked up (well under SQLite's limit).
const FRONTIER_CHUNK: usize = 400;

/// Where one page of a log read starts (after the entry with sequence number `after`, or at
/// the first) and how many entries it holds at most (`None`: all the rest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    pub after: Option<i64>,
    pub limit: Option<usize>,
}

/// One page of a log: its entries, oldest first, and where the next page starts (`None`
/// after the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<Page>,
}

impl Page {
    /// The first page of `limit` entries.
    pub fn first(limit: usize) -> Self {
        Page {
            after: None,
            limit: Some(limit),
        }
    }

    /// `(after, limit)` as SQLite binds them: every sequence number, no limit.
    fn bounds(self) -> (i64, i64) {
        (
            self.after.unwrap_or(i64::MIN),
            self.limit.map_or(-1, |l| l as i64),
        )
    }

    /// The page after this one, whose last entry was `last_seq`, if this one was full.
    fn next(self, len: usize, last_seq: Option<i64>) -> Option<Page> {
        match (self.limit, last_seq) {
            (Some(limit), Some(seq)) if len == limit => Some(Page {
                after: Some(seq),
                limit: Some(limit),
            }),
            _ => None,
        }
    }
}

/// Reads one page of rows of a log table: `sql` selects the entry's columns then `seq`, with
/// `?1`..`?4` the time range, the sequence number to start after and the limit.
fn read_page<T>(
    conn: &Connection,
    sql: &str,
    from_ms: Option<i64>,
    until_ms: Option<i64>,
    page: Page,
    entry: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<(T, i64)>,
) -> Result<Paged<T>> {
    let mut stmt = conn.prepare(sql)?;
    let (after, limit) = page.bounds();
    let bounds = params![
        from_ms.unwrap_or(i64::MIN),
        until_ms.unwrap_or(i64::MAX),
        after,
        limit
    ];
    let mut last = None;
    let mut items = vec![];
    for r in stmt.query_map(bounds, |row| entry(row))? {
        let (item, seq) = r?;
        last = Some(seq);
        items.push(item);
    }
    let next = page.next(items.len(), last);
    Ok(Paged { items, next })
}

/// The audit log's store.
pub struct AuditLog {
    conn: Mutex<Connection>,
    /// Records older than this are pruned; `None` keeps them all.
    retention_ms: Option<i64>,
    written: AtomicU64,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_time_ms INTEGER NOT NULL,
    user TEXT NOT NULL,
    client_address TEXT,
    protocol TEXT NOT NULL,
    session_id TEXT,
    statement_id TEXT,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    sqlstate TEXT,
    error_message TEXT,
    statement_text TEXT,
    securables TEXT NOT NULL,
    rows INTEGER,
    duration_ms INTEGER,
    user_agent TEXT,
    run_id TEXT
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (event_time_ms);
CREATE TABLE IF NOT EXISTS table_lineage (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_time_ms INTEGER NOT NULL,
    statement_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    source_name TEXT NOT NULL,
    source_type TEXT NOT NULL,
    target_name TEXT,
    target_type TEXT,
    entity_type TEXT,
    entity_id TEXT,
    entity_run_id TEXT
);
CREATE INDEX IF NOT EXISTS table_lineage_time ON table_lineage (event_time_ms);
CREATE INDEX IF NOT EXISTS table_lineage_source ON table_lineage (source_name);
CREATE INDEX IF NOT EXISTS table_lineage_target ON table_lineage (target_name);
CREATE TABLE IF NOT EXISTS column_lineage (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_time_ms INTEGER NOT NULL,
    statement_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    source_name TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source_column TEXT NOT NULL,
    target_name TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_column TEXT NOT NULL,
    transformation_type TEXT NOT NULL,
    transformation_subtype TEXT NOT NULL,
    masked INTEGER NOT NULL,
    entity_type TEXT,
    entity_id TEXT,
    entity_run_id TEXT
);
CREATE INDEX IF NOT EXISTS column_lineage_time ON column_lineage (event_time_ms);
CREATE INDEX IF NOT EXISTS column_lineage_source ON column_lineage (source_name, source_column);
CREATE INDEX IF NOT EXISTS column_lineage_target ON column_lineage (target_name, target_column);
";

impl AuditLog {
    /// Opens (creating if needed) the log at `path`, keeping `retention_days` of records
    /// (`None`: all of them).
    pub fn open(path: &Path, retention_days: Option<u32>) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn, retention_days)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, retention_days: Option<u32>) -> Result<Self> {
        conn.execute_batch(SCHEMA)?;
        // A log written before `user_agent` was recorded gains the column (empty for old rows).
        let has_user_agent = conn
            .prepare("SELECT 1 FROM pragma_table_info('audit') WHERE name = 'user_agent'")?
            .exists([])?;
        if !has_user_agent {
            conn.execute_batch("ALTER TABLE audit ADD COLUMN user_agent TEXT")?;
        }
        // Likewise the run columns.
        for (table, column) in [
            ("audit", "run_id"),
            ("table_lineage", "entity_type"),
            ("table_lineage", "entity_id"),
            ("table_lineage", "entity_run_id"),
            ("column_lineage", "entity_type"),
            ("column_lineage", "entity_id"),
            ("column_lineage", "entity_run_id"),
        ] {
            let has = conn
                .prepare(&format!(
                    "SELECT 1 FROM pragma_table_info('{table}') WHERE name = '{column}'"
                ))?
                .exists([])?;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT"))?;
            }
        }
        let log = AuditLog {
            conn: Mutex::new(conn),
            retention_ms: retention_days.map(|d| i64::from(d) * DAY_MS),
            written: AtomicU64::new(0),
        };
        log.prune(now_ms())?;
        Ok(log)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes one record.
    pub fn record(&self, r: &AuditRecord) -> Result<()> {
        self.conn().execute(
            "INSERT INTO audit (event_time_ms, user, client_address, protocol, session_id,
                statement_id, action, status, sqlstate, error_message, statement_text, securables,
                rows, duration_ms, user_agent, run_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                r.event_time_ms,
                r.user,
                r.client_address,
                r.protocol,
                r.session_id,
                r.statement_id,
                r.action,
                r.status,
                r.sqlstate,
                r.error_message,
                r.statement_text,
                json(&r.securables),
                r.rows,
                r.duration_ms,
                r.user_agent,
                r.run_id,
            ],
        )?;
        if self.written.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune(now_ms())?;
        }
        Ok(())
    }

    /// Deletes the records older than the retention, as of `now_ms`; returns how many.
    pub fn prune(&self, now_ms: i64) -> Result<usize> {
        let Some(retention) = self.retention_ms else {
            return Ok(0);
        };
        let conn = self.conn();
        let cutoff = now_ms - retention;
        let lineage = conn.execute(
            "DELETE FROM table_lineage WHERE event_time_ms < ?1",
            params![cutoff],
        )? + conn.execute(
            "DELETE FROM column_lineage WHERE event_time_ms < ?1",
            params![cutoff],
        )?;
        Ok(lineage
            + conn.execute(
                "DELETE FROM audit WHERE event_time_ms < ?1",
                params![cutoff],
            )?)
    }

    /// Writes the table and column lineage edges of one statement, all or none.
    pub fn record_lineage(&self, edges: &[LineageEdge], columns: &[ColumnEdge]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for e in edges {
            tx.execute(
                "INSERT INTO table_lineage (event_time_ms, statement_id, created_by, source_name,
                    source_type, target_name, target_type, entity_type, entity_id, entity_run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    e.event_time_ms,
                    e.statement_id,
                    e.created_by,
                    e.source.0,
                    e.source.1,
                    e.target.as_ref().map(|t| &t.0),
                    e.target.as_ref().map(|t| &t.1),
                    e.entity.as_ref().map(|r| &r.entity_type),
                    e.entity.as_ref().map(|r| &r.entity_id),
                    e.entity.as_ref().map(|r| &r.run_id),
                ],
            )?;
        }
        for e in columns {
            tx.execute(
                "INSERT INTO column_lineage (event_time_ms, statement_id, created_by, source_name,
                    source_type, source_column, target_name, target_type, target_column,
                    transformation_type, transformation_subtype, masked, entity_type, entity_id,
                    entity_run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    e.event_time_ms,
                    e.statement_id,
                    e.created_by,
                    e.source.0,
                    e.source.1,
                    e.source_column,
                    e.target.0,
                    e.target.1,
                    e.target_column,
                    e.transformation.0,
                    e.transformation.1,
                    e.masked,
                    e.entity.as_ref().map(|r| &r.entity_type),
                    e.entity.as_ref().map(|r| &r.entity_id),
                    e.entity.as_ref().map(|r| &r.run_id),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One page of the column lineage edges of statements run at `from_ms` (inclusive) until
    /// `until_ms` (exclusive), oldest first; `None` leaves that end open.
    pub fn column_lineage_page(
        &self,
        from_ms: Option<i64>,
        until_ms: Option<i64>,
        page: Page,
    ) -> Result<Paged<ColumnEdge>> {
        read_page(
            &self.conn(),
            &format!(
                "SELECT event_time_ms, statement_id, created_by, {COLUMN_LINK}, seq,
                    entity_type, entity_id, entity_run_id
                 FROM column_lineage
                 WHERE event_time_ms >= ?1 AND event_time_ms < ?2 AND seq > ?3
                 ORDER BY seq LIMIT ?4"
            ),
            from_ms,
            until_ms,
            page,
            |row| {
                let link = column_link(row, 3)?;
                Ok((
                    ColumnEdge {
                        event_time_ms: row.get(0)?,
                        statement_id: row.get(1)?,
                        created_by: row.get(2)?,
                        source: link.source,
                        source_column: link.source_column,
                        target: link.target,
                        target_column: link.target_column,
                        transformation: link.transformation,
                        masked: link.masked,
                        entity: run_entity(row, 13)?,
                    },
                    row.get(12)?,
                ))
            },
        )
    }

    /// One page of the table lineage edges of statements run at `from_ms` (inclusive) until
    /// `until_ms` (exclusive), oldest first; `None` leaves that end open.
    pub fn lineage_page(
        &self,
        from_ms: Option<i64>,
        until_ms: Option<i64>,
        page: Page,
    ) -> Result<Paged<LineageEdge>> {
        read_page(
            &self.conn(),
            "SELECT event_time_ms, statement_id, created_by, source_name, source_type,
                target_name, target_type, seq, entity_type, entity_id, entity_run_id
             FROM table_lineage WHERE event_time_ms >= ?1 AND event_time_ms < ?2 AND seq > ?3
             ORDER BY seq LIMIT ?4",
            from_ms,
            until_ms,
            page,
            |row| {
                let target: Option<String> = row.get(5)?;
                let target_type: Option<String> = row.get(6)?;
                Ok((
                    LineageEdge {
                        event_time_ms: row.get(0)?,
                        statement_id: row.get(1)?,
                        created_by: row.get(2)?,
                        source: (row.get(3)?, row.get(4)?),
                        target: target.map(|t| (t, target_type.unwrap_or_default())),
                        entity: run_entity(row, 8)?,
                    },
                    row.get(7)?,
                ))
            },
        )
    }

    /// The records of events at `from_ms` (inclusive) until `until_ms` (exclusive), oldest
    /// first; `None` leaves that end open.
    pub fn records(&self, from_ms: Option<i64>, until_ms: Option<i64>) -> Result<Vec<AuditRecord>> {
        Ok(self.records_page(from_ms, until_ms, Page::default())?.items)
    }

    /// The distinct table edges (reads that wrote something) whose `end` is one of `names`:
    /// one step of a walk, through the indexes rather than the whole log.
    pub fn table_links_at(&self, end: EdgeEnd, names: &[String]) -> Result<Vec<TableLink>> {
        let conn = self.conn();
        let mut out = vec![];
        for chunk in names.chunks(FRONTIER_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut stmt = conn.prepare(&format!(
                "SELECT DISTINCT source_name, source_type, target_name, target_type
                 FROM table_lineage WHERE target_name IS NOT NULL AND {}_name IN ({marks})",
                end.prefix()
            ))?;
            let rows = stmt.query_map(rusqlite::params_from_iter(chunk.iter()), |row| {
                Ok(((row.get(0)?, row.get(1)?), (row.get(2)?, row.get(3)?)))
            })?;
            for r in rows {
                out.push(r?);
            }
        }
        Ok(out)
    }

    /// The distinct column edges whose `end` is one of `columns` (`(table, column)` pairs).
    pub fn column_links_at(
        &self,
        end: EdgeEnd,
        columns: &[(String, String)],
    ) -> Result<Vec<ColumnLink>> {
        let conn = self.conn();
        let mut out = vec![];
        for chunk in columns.chunks(FRONTIER_CHUNK) {
            let marks = vec!["(?, ?)"; chunk.len()].join(", ");
            let end = end.prefix();
            let mut stmt = conn.prepare(&format!(
                "SELECT DISTINCT {COLUMN_LINK}
                 FROM column_lineage WHERE ({end}_name, {end}_column) IN (VALUES {marks})"
            ))?;
            let values = chunk.iter().flat_map(|(t, c)| [t, c]);
            let rows = stmt.query_map(rusqlite::params_from_iter(values), |row| {
                column_link(row, 0)
            })?;
            for r in rows {
                out.push(r?);
            }
        }
        Ok(out)
    }

    /// One page of [`Self::records`].
    pub fn records_page(
        &self,
        from_ms: Option<i64>,
        until_ms: Option<i64>,
        page: Page,
    ) -> Result<Paged<AuditRecord>> {
        let paged = read_page(
            &self.conn(),
            "SELECT event_time_ms, user, client_address, protocol, session_id, statement_id,
                action, status, sqlstate, error_message, statement_text, securables, rows,
                duration_ms, seq, user_agent, run_id
             FROM audit WHERE event_time_ms >= ?1 AND event_time_ms < ?2 AND seq > ?3
             ORDER BY seq LIMIT ?4",
            from_ms,
            until_ms,
            page,
            |row| {
                Ok((
                    (
                        AuditRecord {
                            event_time_ms: row.get(0)?,
                            user: row.get(1)?,
                            client_address: row.get(2)?,
                            protocol: row.get(3)?,
                            session_id: row.get(4)?,
                            statement_id: row.get(5)?,
                            action: row.get(6)?,
                            status: row.get(7)?,
                            sqlstate: row.get(8)?,
                            error_message: row.get(9)?,
                            statement_text: row.get(10)?,
                            securables: vec![],
                            rows: row.get(12)?,
                            duration_ms: row.get(13)?,
                            user_agent: row.get(15)?,
                            run_id: row.get(16)?,
                        },
                        row.get::<_, String>(11)?,
                    ),
                    row.get(14)?,
                ))
            },
        )?;
        let items = paged
            .items
            .into_iter()
            .map(|(mut record, securables)| {
                record.securables = from_json(&securables)?;
                Ok(record)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Paged {
            items,
            next: paged.next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at: i64, action: &str) -> AuditRecord {
        AuditRecord {
            event_time_ms: at,
            user: "ann".into(),
            client_address: Some("127.0.0.1:5000".into()),
            user_agent: Some("psql".into()),
            protocol: "postgres".into(),
            session_id: Some("s".into()),
            statement_id: Some("q".into()),
            run_id: None,
            action: action.into(),
            status: "succeeded".into(),
            sqlstate: None,
            error_message: None,
            statement_text: Some("SELECT 1".into()),
            securables: vec!["main.default.t".into()],
            rows: Some(1),
            duration_ms: Some(2),
        }
    }

    #[test]
    fn a_log_from_before_user_agent_gains_the_column() {
        let dir = std::env::temp_dir().join(format!("weir-audit-ua-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("audit.db");
        let _ = std::fs::remove_file(&path);
        {
            let conn = Connection::open(&path).expect("open");
            let before = SCHEMA.replace(",\n    user_agent TEXT,\n    run_id TEXT\n);", "\n);");
            assert_ne!(before, SCHEMA);
            conn.execute_batch(&before).expect("old schema");
        }
        let log = AuditLog::open(&path, None).expect("reopen");
        log.record(&record(1, "query")).expect("write");
        assert_eq!(
            log.records(None, None).expect("read"),
            vec![record(1, "query")]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn records_read_in_pages() {
        let log = AuditLog::open_in_memory().expect("open");
        for i in 0..5 {
            log.record(&record(i, "query")).expect("write");
        }
        let mut page = Some(Page::first(2));
        let mut seen = vec![];
        while let Some(p) = page {
            let paged = log.records_page(None, None, p).expect("read");
            assert!(paged.items.len() <= 2);
            seen.extend(paged.items.iter().map(|r| r.event_time_ms));
            page = paged.next;
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        // Pages keep the time range.
        let paged = log
            .records_page(Some(3), None, Page::first(10))
            .expect("read");
        assert_eq!(paged.items.len(), 2);
        assert_eq!(paged.next, None);
    }

    #[test]
    fn records_read_back_in_order() {
        let log = AuditLog::open_in_memory().expect("open");
        log.record(&record(1, "query")).expect("write");
        log.record(&record(2, "insert")).expect("write");
        assert_eq!(
            log.records(None, None).expect("read"),
            vec![record(1, "query"), record(2, "insert")]
        );
        assert_eq!(
            log.records(Some(2), Some(3)).expect("read"),
            vec![record(2, "insert")]
        );
        assert_eq!(
            log.records(None, Some(2)).expect("read"),
            vec![record(1, "query")]
        );
    }

    #[test]
    fn records_older_than_the_retention_are_pruned() {
        let dir = std::env::temp_dir().join(format!("weir-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("audit.db");
        let _ = std::fs::remove_file(&path);
        let now = now_ms();
        {
            let log = AuditLog::open(&path, Some(7)).expect("open");
            log.record(&record(now - 8 * DAY_MS, "old")).expect("write");
            log.record(&record(now - DAY_MS, "recent")).expect("write");
        }
        // Reopening prunes.
        let log = AuditLog::open(&path, Some(7)).expect("reopen");
        let actions: Vec<String> = log
            .records(None, None)
            .expect("read")
            .into_iter()
            .map(|r| r.action)
            .collect();
        assert_eq!(actions, vec!["recent"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
