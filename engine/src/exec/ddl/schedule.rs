//! `CREATE [OR REPLACE] SCHEDULE`, `ALTER SCHEDULE`, `DROP SCHEDULE`. Creating needs what
//! creating a procedure needs (USE CATALOG, USE SCHEMA, CREATE FUNCTION on the schema) and the
//! right to run the call now (EXECUTE on the procedure). The creator owns the schedule, and its
//! runs have the owner's rights. A schedule is seen, altered and dropped by its owner and by
//! admins; to anyone else it does not exist.

use weir_catalog::{Privilege, Schedule};

use crate::error::{EngineError, Result};
use crate::jobs::schedule::CronTimes;
use crate::parser::{AlterSchedule, CreateSchedule, Name};
use crate::session::Session;

/// The zone a pattern without `AT TIME ZONE` is read in.
const DEFAULT_TIME_ZONE: &str = "UTC";

fn missing_schedule(c: &str, s: &str, n: &str) -> EngineError {
    EngineError::Coded {
        sqlstate: "42704",
        message: format!("schedule '{c}.{s}.{n}' does not exist"),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Session {
    pub(crate) fn create_schedule(&mut self, create: CreateSchedule) -> Result<()> {
        let (c, s, n) = self.qualify_table(&create.name)?;
        if c == crate::system_tables::catalog::SYSTEM_CATALOG {
            return Err(EngineError::PermissionDenied(
                "the system catalog is read-only".into(),
            ));
        }
        self.dialect().require_stored_sql("a schedule")?;
        let access = self.access()?;
        access.require_create(&c, &s, Privilege::CreateFunction)?;
        let time_zone = create
            .time_zone
            .clone()
            .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
        let times = CronTimes::parse(&create.cron, &time_zone)?;
        if times.next_after(now_ms()).is_none() {
            return Err(EngineError::Coded {
                sqlstate: "22023",
                message: format!("cron pattern '{}' never fires", create.cron),
            });
        }
        // A schedule's call is shown to whoever sees the schedule: no passwords in it.
        if crate::parser::has_password_literal(&create.call_text) {
            return Err(EngineError::Coded {
                sqlstate: "42601",
                message: "a schedule's call cannot hold a password literal".into(),
            });
        }
        let (procedure, _) = self.check_background_call(&create.call)?;
        let m = &self.state.metastore;
        if let Some(existing) = m.get_schedule(&c, &s, &n)? {
            if !self.may_manage_schedule(&existing)? {
                // Someone else's: creating it again is refused without telling it exists.
                return Err(EngineError::PermissionDenied(format!(
                    "permission denied: a schedule named '{c}.{s}.{n}' cannot be created here"
                )));
            }
            if create.if_not_exists {
                return Ok(());
            }
            if !create.or_replace {
                return Err(EngineError::Duplicate {
                    sqlstate: "42710",
                    message: format!("schedule '{c}.{s}.{n}' already exists"),
                });
            }
        }
        let now = now_ms();
        m.create_schedule(
            &Schedule {
                catalog: c,
                schema: s,
                name: n,
                cron: create.cron,
                time_zone,
                call: create.call_text,
                procedure: procedure.full_name(),
                owner: self.identity.rights.clone(),
                enabled: true,
                comment: create.comment,
                created_at_ms: now,
                next_fire_at_ms: times.next_after(now),
                last_fire_at_ms: None,
                last_run_id: None,
                skipped_fires: 0,
            },
            create.or_replace,
        )?;
        self.state.jobs.wake_scheduler();
        Ok(())
    }

    /// ALTER SCHEDULE: each form changes only what it names, so two ALTERs at once do not
    /// undo each other.
    pub(crate) fn alter_schedule(&mut self, name: &Name, action: AlterSchedule) -> Result<()> {
        let schedule = self.visible_schedule(name)?;
        let (c, s, n) = (&schedule.catalog, &schedule.schema, &schedule.name);
        let m = &self.state.metastore;
        let now = now_ms();
        match action {
            AlterSchedule::Pause => m.set_schedule_enabled(c, s, n, false, None)?,
            AlterSchedule::Resume => {
                let next = CronTimes::parse(&schedule.cron, &schedule.time_zone)?.next_after(now);
                m.set_schedule_enabled(c, s, n, true, next)?;
            }
            AlterSchedule::Cron { cron, time_zone } => {
                let time_zone = time_zone.unwrap_or(schedule.time_zone.clone());
                let times = CronTimes::parse(&cron, &time_zone)?;
                if times.next_after(now).is_none() {
                    return Err(EngineError::Coded {
                        sqlstate: "22023",
                        message: format!("cron pattern '{cron}' never fires"),
                    });
                }
                m.set_schedule_cron(c, s, n, &cron, &time_zone, times.next_after(now))?;
            }
        }
        self.state.jobs.wake_scheduler();
        Ok(())
    }

    pub(crate) fn drop_schedule(&mut self, name: &Name, if_exists: bool) -> Result<()> {
        let schedule = match self.visible_schedule(name) {
            Ok(s) => s,
            Err(EngineError::Coded {
                sqlstate: "42704", ..
            }) if if_exists => return Ok(()),
            Err(e) => return Err(e),
        };
        self.state
            .metastore
            .drop_schedule(&schedule.catalog, &schedule.schema, &schedule.name)?;
        Ok(())
    }

    /// A schedule the user owns, or any for an admin, by its name as written.
    pub(crate) fn visible_schedule(&self, name: &Name) -> Result<Schedule> {
        let (c, s, n) = self.qualify_table(name)?;
        match self.state.metastore.get_schedule(&c, &s, &n)? {
            Some(schedule) if self.may_manage_schedule(&schedule)? => Ok(schedule),
            _ => Err(missing_schedule(&c, &s, &n)),
        }
    }

    /// Whether the user owns `schedule` or is an admin.
    pub(crate) fn may_manage_schedule(&self, schedule: &Schedule) -> Result<bool> {
        Ok(schedule.owner == self.identity.rights || self.access()?.is_admin())
    }
}
