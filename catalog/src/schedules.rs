//! Schedules: a procedure call on a cron schedule, run as the schedule's owner. The store keeps
//! each schedule's definition and its firing state (next and last fire time, the last run, the
//! fire times skipped because that run was still going). A fire is claimed by moving the next
//! fire time on only if it is still the one the scheduler saw, so one fire time starts at most
//! one run.

use rusqlite::{params, OptionalExtension, Row};

use crate::error::{MetastoreError, Result};
use crate::store::Metastore;

/// One schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub catalog: String,
    pub schema: String,
    pub name: String,
    /// The cron pattern, as written (5 fields, or 6 with seconds first).
    pub cron: String,
    /// The IANA time zone the pattern is read in.
    pub time_zone: String,
    /// The statement it runs, as written: `CALL c.s.p(args)`.
    pub call: String,
    /// `catalog.schema.procedure`, as resolved when the schedule was created.
    pub procedure: String,
    /// Whose rights its runs have.
    pub owner: String,
    pub enabled: bool,
    pub comment: Option<String>,
    pub created_at_ms: i64,
    /// When it fires next (none while paused).
    pub next_fire_at_ms: Option<i64>,
    pub last_fire_at_ms: Option<i64>,
    /// The run its last fire started.
    pub last_run_id: Option<String>,
    /// Fire times that started nothing because the last run was still going.
    pub skipped_fires: i64,
}

impl Schedule {
    pub fn full_name(&self) -> String {
        format!("{}.{}.{}", self.catalog, self.schema, self.name)
    }
}

const COLUMNS: &str = "catalog, schema, name, cron, time_zone, call, procedure, owner, enabled, \
                       comment, created_at_ms, next_fire_at_ms, last_fire_at_ms, last_run_id, \
                       skipped_fires";

const KEY: &str = "catalog = ?1 AND schema = ?2 AND name = ?3";

impl Metastore {
    /// Creates a schedule; `replace` replaces one of that name, firing state included.
    pub fn create_schedule(&self, s: &Schedule, replace: bool) -> Result<()> {
        self.write(|tx| {
            let schema = tx
                .query_row(
                    "SELECT 1 FROM schemas WHERE catalog = ?1 AND name = ?2",
                    params![s.catalog, s.schema],
                    |_| Ok(()),
                )
                .optional()?;
            if schema.is_none() {
                return Err(MetastoreError::not_found(
                    "schema",
                    format!("{}.{}", s.catalog, s.schema),
                ));
            }
            if replace {
                tx.execute(
                    &format!("DELETE FROM schedules WHERE {KEY}"),
                    params![s.catalog, s.schema, s.name],
                )?;
            }
            let n = tx.execute(
                &format!(
                    "INSERT INTO schedules ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                     ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT DO NOTHING"
                ),
                params![
                    s.catalog,
                    s.schema,
                    s.name,
                    s.cron,
                    s.time_zone,
                    s.call,
                    s.procedure,
                    s.owner,
                    s.enabled,
                    s.comment,
                    s.created_at_ms,
                    s.next_fire_at_ms,
                    s.last_fire_at_ms,
                    s.last_run_id,
                    s.skipped_fires
                ],
            )?;
            if n == 0 {
                return Err(MetastoreError::already_exists("schedule", s.full_name()));
            }
            Ok(())
        })
    }

    pub fn get_schedule(&self, c: &str, s: &str, n: &str) -> Result<Option<Schedule>> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM schedules WHERE {KEY}"),
                params![c, s, n],
                schedule,
            )
            .optional()?)
    }

    /// Every schedule, by name.
    pub fn schedules(&self) -> Result<Vec<Schedule>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM schedules ORDER BY catalog, schema, name"
        ))?;
        let rows = stmt.query_map([], schedule)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn drop_schedule(&self, c: &str, s: &str, n: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!("DELETE FROM schedules WHERE {KEY}"),
                params![c, s, n],
            )?;
            Ok(())
        })
    }

    /// Sets an enabled schedule's next fire time (a start skips the ones it missed).
    pub fn set_schedule_next_fire(
        &self,
        c: &str,
        s: &str,
        n: &str,
        next_fire_at_ms: Option<i64>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!("UPDATE schedules SET next_fire_at_ms = ?4 WHERE {KEY} AND enabled = 1"),
                params![c, s, n, next_fire_at_ms],
            )?;
            Ok(())
        })
    }

    /// Pauses (`enabled` false, no next fire time) or resumes a schedule.
    pub fn set_schedule_enabled(
        &self,
        c: &str,
        s: &str,
        n: &str,
        enabled: bool,
        next_fire_at_ms: Option<i64>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "UPDATE schedules SET enabled = ?4,
                     next_fire_at_ms = CASE WHEN ?4 THEN ?5 ELSE NULL END WHERE {KEY}"
                ),
                params![c, s, n, enabled, next_fire_at_ms],
            )?;
            Ok(())
        })
    }

    /// Changes a schedule's pattern and zone; its next fire time becomes `next_fire_at_ms`
    /// if it is enabled (a paused one stays paused).
    pub fn set_schedule_cron(
        &self,
        c: &str,
        s: &str,
        n: &str,
        cron: &str,
        time_zone: &str,
        next_fire_at_ms: Option<i64>,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!(
                    "UPDATE schedules SET cron = ?4, time_zone = ?5,
                     next_fire_at_ms = CASE WHEN enabled = 1 THEN ?6 ELSE NULL END WHERE {KEY}"
                ),
                params![c, s, n, cron, time_zone, next_fire_at_ms],
            )?;
            Ok(())
        })
    }

    /// Claims the fire time `due` of an enabled schedule: its next fire time becomes `next`,
    /// and, when `fired`, its last fire time `due` (otherwise the fire is counted as
    /// skipped). False when the fire time is no longer `due` (the schedule was altered,
    /// paused, dropped, or the fire claimed already).
    pub fn claim_schedule_fire(
        &self,
        c: &str,
        s: &str,
        n: &str,
        due: i64,
        next: Option<i64>,
        fired: bool,
    ) -> Result<bool> {
        self.write(|tx| {
            let sql = if fired {
                format!(
                    "UPDATE schedules SET next_fire_at_ms = ?5, last_fire_at_ms = ?4,
                     last_run_id = NULL WHERE {KEY} AND enabled = 1 AND next_fire_at_ms = ?4"
                )
            } else {
                format!(
                    "UPDATE schedules SET next_fire_at_ms = ?5, skipped_fires = skipped_fires + 1
                     WHERE {KEY} AND enabled = 1 AND next_fire_at_ms = ?4"
                )
            };
            Ok(tx.execute(&sql, params![c, s, n, due, next])? == 1)
        })
    }

    /// Records the run a schedule's last fire started.
    pub fn set_schedule_run(&self, c: &str, s: &str, n: &str, run_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                &format!("UPDATE schedules SET last_run_id = ?4 WHERE {KEY}"),
                params![c, s, n, run_id],
            )?;
            Ok(())
        })
    }
}

fn schedule(r: &Row<'_>) -> rusqlite::Result<Schedule> {
    Ok(Schedule {
        catalog: r.get(0)?,
        schema: r.get(1)?,
        name: r.get(2)?,
        cron: r.get(3)?,
        time_zone: r.get(4)?,
        call: r.get(5)?,
        procedure: r.get(6)?,
        owner: r.get(7)?,
        enabled: r.get(8)?,
        comment: r.get(9)?,
        created_at_ms: r.get(10)?,
        next_fire_at_ms: r.get(11)?,
        last_fire_at_ms: r.get(12)?,
        last_run_id: r.get(13)?,
        skipped_fires: r.get(14)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(next: Option<i64>) -> Schedule {
        Schedule {
            catalog: "main".into(),
            schema: "default".into(),
            name: "hourly".into(),
            cron: "0 * * * *".into(),
            time_zone: "UTC".into(),
            call: "CALL main.default.p()".into(),
            procedure: "main.default.p".into(),
            owner: "admin".into(),
            enabled: true,
            comment: None,
            created_at_ms: 1,
            next_fire_at_ms: next,
            last_fire_at_ms: None,
            last_run_id: None,
            skipped_fires: 0,
        }
    }

    #[test]
    fn a_fire_time_is_claimed_once() {
        let m = Metastore::open_in_memory().expect("open");
        m.bootstrap(crate::ADMIN_USER).expect("bootstrap");
        m.create_schedule(&schedule(Some(100)), false)
            .expect("create");
        assert!(m.create_schedule(&schedule(Some(100)), false).is_err());
        let claim = |due, next, fired| {
            m.claim_schedule_fire("main", "default", "hourly", due, next, fired)
                .expect("claim")
        };
        assert!(claim(100, Some(200), true));
        // The same fire time again: someone claimed it already.
        assert!(!claim(100, Some(200), true));
        assert!(claim(200, Some(300), false));
        m.set_schedule_run("main", "default", "hourly", "r1")
            .expect("run");
        let s = m
            .get_schedule("main", "default", "hourly")
            .expect("read")
            .expect("exists");
        assert_eq!(
            (
                s.next_fire_at_ms,
                s.last_fire_at_ms,
                s.skipped_fires,
                s.last_run_id.as_deref()
            ),
            (Some(300), Some(100), 1, Some("r1"))
        );
        // Paused: nothing fires, and a start does not give it a next fire time.
        m.set_schedule_enabled("main", "default", "hourly", false, None)
            .expect("pause");
        m.set_schedule_next_fire("main", "default", "hourly", Some(300))
            .expect("start");
        assert_eq!(
            m.get_schedule("main", "default", "hourly")
                .expect("read")
                .and_then(|s| s.next_fire_at_ms),
            None
        );
        assert!(!claim(300, Some(400), true));
        m.drop_schedule("main", "default", "hourly").expect("drop");
        assert!(m.schedules().expect("list").is_empty());
    }
}
