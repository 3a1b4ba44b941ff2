//! Schedules: the scheduler task that fires each schedule's call at its cron times, as a
//! background run of the schedule's owner.
//!
//! - A fire time is claimed in the metastore before its run starts (the next fire time moves on
//!   only if it is still the one seen), so a fire time starts at most one run.
//! - A run still going when the next fire time comes is not started twice: the fire is skipped
//!   and counted (`skipped_fires`).
//! - Fire times missed while the server was down, or while the scheduler was late, are not
//!   replayed: the next fire time is always the first one after now.
//!
//! When to fire is decided by [`decide`], from a schedule, the time and whether its last run is
//! going, so that it is tested with any clock.

use std::sync::Arc;

use chrono::TimeZone as _;
use weir_catalog::{run_state, JobRun, Schedule};

use crate::engine_state::EngineState;
use crate::error::{EngineError, Result};
use crate::parser::Statement;
use crate::session::Session;
use crate::statement_kind::StatementKind;

/// How long the scheduler sleeps at most between looks at the schedules (a schedule created or
/// altered wakes it at once).
const LONGEST_SLEEP: std::time::Duration = std::time::Duration::from_secs(60);

/// A cron pattern read in a time zone.
#[derive(Debug, Clone)]
pub(crate) struct CronTimes {
    cron: croner::Cron,
    zone: chrono_tz::Tz,
}

impl CronTimes {
    /// Parses `pattern` (5 fields, or 6 with seconds first; names such as MON or JAN and the
    /// `@hourly`-style aliases work) in the IANA zone `zone`.
    pub(crate) fn parse(pattern: &str, zone: &str) -> Result<Self> {
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .year(croner::parser::Year::Disallowed)
            .build()
            .parse(pattern)
            .map_err(|e| EngineError::Coded {
                sqlstate: "22023",
                message: format!("invalid cron pattern '{pattern}': {e}"),
            })?;
        let zone = zone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| EngineError::Coded {
                sqlstate: "22023",
                message: format!("time zone '{zone}' is not recognized"),
            })?;
        Ok(CronTimes { cron, zone })
    }

    /// The first fire time strictly after `after_ms` (epoch milliseconds), if there is one.
    ///
    /// Fire times are wall-clock times of the zone, and each fires once: a wall-clock time
    /// that happens twice (the hour repeated when clocks go back) fires in its first pass.
    /// croner reads such a time as its first pass even when that is already past, so the
    /// search goes on past it: the answer is always after `after`.
    pub(crate) fn next_after(&self, after_ms: i64) -> Option<i64> {
        // Whole seconds: croner keeps the fraction of the time it starts from.
        let mut from = self
            .zone
            .timestamp_millis_opt(after_ms.div_euclid(1000) * 1000)
            .single()?;
        // A repeated hour holds at most 3,600 fire times of a per-second pattern.
        for _ in 0..4_000 {
            let found = self.cron.find_next_occurrence(&from, false).ok()?;
            if found.timestamp_millis() > after_ms {
                return Some(found.timestamp_millis());
            }
            from = found;
        }
        None
    }
}

/// What the scheduler does with a schedule at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Not due: look again at this time (none: paused, or no fire time left).
    Wait(Option<i64>),
    /// Due at `due`: start a run; the next fire time is `next`.
    Fire { due: i64, next: Option<i64> },
    /// Due at `due` while the last run is still going: start nothing; next is `next`.
    Skip { due: i64, next: Option<i64> },
}

/// Decides what to do with `schedule` at `now_ms`, its last run going or not. Whatever is
/// due fires once, and the next fire time is the first after now: a scheduler that was late
/// fires once, not once per missed time.
pub(crate) fn decide(
    schedule: &Schedule,
    times: &CronTimes,
    now_ms: i64,
    running: bool,
) -> Decision {
    match schedule.next_fire_at_ms {
        Some(due) if schedule.enabled && due <= now_ms => {
            // Never a next fire time at or before now: the loop would fire without end.
            let next = times.next_after(now_ms).filter(|n| *n > now_ms);
            if running {
                Decision::Skip { due, next }
            } else {
                Decision::Fire { due, next }
            }
        }
        next if schedule.enabled => Decision::Wait(next),
        _ => Decision::Wait(None),
    }
}

/// The next fire time of an enabled schedule when the server starts: the first after now, so
/// that fire times missed while the server was down are not replayed.
pub(crate) fn next_fire_at_start(times: &CronTimes, now_ms: i64) -> Option<i64> {
    times.next_after(now_ms)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Starts the scheduler task for `state` on the current runtime (none: no schedules fire).
pub(crate) fn start_scheduler(state: &Arc<EngineState>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // Fire times missed while the server was down are skipped.
    let now = now_ms();
    match state.metastore.schedules() {
        Ok(schedules) => {
            for s in schedules.into_iter().filter(|s| s.enabled) {
                let next = match CronTimes::parse(&s.cron, &s.time_zone) {
                    Ok(times) => next_fire_at_start(&times, now),
                    Err(_) => None,
                };
                if next != s.next_fire_at_ms {
                    if let Err(e) = state
                        .metastore
                        .set_schedule_next_fire(&s.catalog, &s.schema, &s.name, next)
                    {
                        tracing::error!("setting the next fire time of {}: {e}", s.full_name());
                    }
                }
            }
        }
        Err(e) => tracing::error!("reading the schedules: {e}"),
    }
    let weak = Arc::downgrade(state);
    let wake = state.jobs.scheduler_wake();
    runtime.spawn(async move {
        loop {
            let sleep = {
                let Some(state) = weak.upgrade() else { break };
                if state.jobs.is_shutting_down() {
                    break;
                }
                look(&state).await
            };
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = wake.notified() => {}
            }
        }
    });
}

/// Fires every schedule that is due; returns how long to sleep until the next fire time.
async fn look(state: &Arc<EngineState>) -> std::time::Duration {
    let schedules = match state.metastore.schedules() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("reading the schedules: {e}");
            return LONGEST_SLEEP;
        }
    };
    let now = now_ms();
    let mut wake_at: Option<i64> = None;
    for s in schedules {
        let Ok(times) = CronTimes::parse(&s.cron, &s.time_zone) else {
            continue;
        };
        let running = s
            .last_run_id
            .as_deref()
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .is_some_and(|id| state.jobs.is_running(id));
        let next = match decide(&s, &times, now, running) {
            Decision::Wait(next) => next,
            Decision::Skip { due, next } => {
                if let Err(e) = state
                    .metastore
                    .claim_schedule_fire(&s.catalog, &s.schema, &s.name, due, next, false)
                {
                    tracing::error!("skipping a fire of {}: {e}", s.full_name());
                }
                next
            }
            Decision::Fire { .. } if state.jobs.is_shutting_down() => return LONGEST_SLEEP,
            Decision::Fire { due, next } => {
                match state
                    .metastore
                    .claim_schedule_fire(&s.catalog, &s.schema, &s.name, due, next, true)
                {
                    Ok(true) => fire(state, &s, due).await,
                    Ok(false) => {}
                    Err(e) => tracing::error!("claiming a fire of {}: {e}", s.full_name()),
                }
                next
            }
        };
        if let Some(n) = next {
            wake_at = Some(wake_at.map_or(n, |w| w.min(n)));
        }
    }
    match wake_at {
        Some(at) => {
            std::time::Duration::from_millis((at - now_ms()).max(0) as u64).min(LONGEST_SLEEP)
        }
        None => LONGEST_SLEEP,
    }
}

/// Starts a schedule's run: its call, as a background run of its owner, through the one
/// statement path (audited as the owner's statement). A call that cannot start (the owner
/// lost EXECUTE, the procedure is gone) is recorded as a failed run of the schedule.
async fn fire(state: &Arc<EngineState>, schedule: &Schedule, due: i64) {
    let name = schedule.full_name();
    let mut session = Session::new(
        state.clone(),
        &schedule.owner,
        &schedule.catalog,
        &schedule.schema,
        crate::observe::ClientInfo::internal(),
    );
    session.schedule = Some(name.clone());
    let started = async {
        // Arguments and the run read the clock in the schedule's zone.
        session.set_variable("timezone", &schedule.time_zone)?;
        let mut statements = crate::parser::parse_sql(&schedule.call)?;
        let call = match (statements.pop(), statements.is_empty()) {
            (Some(Statement::Call(mut call)), true) => {
                call.detached = true;
                // The procedure resolved when the schedule was created, whatever the names
                // the call wrote mean now.
                let resolved: Vec<String> = schedule
                    .procedure
                    .splitn(3, '.')
                    .map(str::to_string)
                    .collect();
                if resolved.len() == 3 {
                    call.procedure = resolved;
                }
                call
            }
            _ => {
                return Err(EngineError::Internal(format!(
                    "schedule {name} holds no CALL: {}",
                    schedule.call
                )))
            }
        };
        session.begin_statement(
            crate::exec::carried_record(&schedule.call),
            Some(StatementKind::Call),
        );
        let result = session.execute_statement(Statement::Call(call), None).await;
        let output = session.end_statement(StatementKind::Call, result)?;
        let Some(rows) = output.into_rows() else {
            return Err(EngineError::Internal(
                "a background run returned no id".into(),
            ));
        };
        let batches = datafusion::physical_plan::common::collect(rows).await?;
        let run_id = batches
            .first()
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .map(|a| a.value(0).to_string())
            })
            .ok_or_else(|| EngineError::Internal("a background run returned no id".into()))?;
        Ok(run_id)
    }
    .await;
    let run_id = match started {
        Ok(id) => id,
        Err(e) => {
            let id = uuid::Uuid::new_v4().to_string();
            let run = JobRun {
                run_id: id.clone(),
                procedure: schedule.procedure.clone(),
                arguments: crate::exec::carried_record(&schedule.call),
                user: schedule.owner.clone(),
                state: run_state::FAILED.into(),
                started_at_ms: due,
                ended_at_ms: Some(now_ms()),
                statements: 0,
                rows_written: 0,
                error: Some(format!("{}: {e}", e.sqlstate())),
                schedule: Some(name.clone()),
            };
            if let Err(e) = state.metastore.start_job_run(&run) {
                tracing::error!("recording a failed fire of {name}: {e}");
            }
            id
        }
    };
    if let Err(e) = state.metastore.set_schedule_run(
        &schedule.catalog,
        &schedule.schema,
        &schedule.name,
        &run_id,
    ) {
        tracing::error!("recording the run of {name}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;
    /// 2026-12-03T10:00:00Z
    const TEN: i64 = 1_796_292_000_000;

    fn every_minute(next: Option<i64>, enabled: bool) -> Schedule {
        Schedule {
            catalog: "main".into(),
            schema: "ops".into(),
            name: "s".into(),
            cron: "* * * * *".into(),
            time_zone: "UTC".into(),
            call: "CALL main.ops.p()".into(),
            procedure: "main.ops.p".into(),
            owner: "admin".into(),
            enabled,
            comment: None,
            created_at_ms: 0,
            next_fire_at_ms: next,
            last_fire_at_ms: None,
            last_run_id: None,
            skipped_fires: 0,
        }
    }

    #[test]
    fn cron_times_follow_the_zone() {
        let hourly_at_berlin_9 = CronTimes::parse("0 9 * * *", "Europe/Berlin").expect("parse");
        // 10:00Z is 11:00 in Berlin (CET): the next 9:00 there is tomorrow 08:00Z.
        assert_eq!(
            hourly_at_berlin_9.next_after(TEN),
            Some(TEN + 22 * 60 * MINUTE)
        );
        let seconds = CronTimes::parse("*/10 * * * * *", "UTC").expect("seconds");
        assert_eq!(seconds.next_after(TEN), Some(TEN + 10_000));
        assert!(matches!(
            CronTimes::parse("61 * * * *", "UTC"),
            Err(EngineError::Coded {
                sqlstate: "22023",
                ..
            })
        ));
        assert!(matches!(
            CronTimes::parse("* * * * *", "Mars/Olympus"),
            Err(EngineError::Coded {
                sqlstate: "22023",
                ..
            })
        ));
    }

    #[test]
    fn a_repeated_hour_fires_once_and_never_goes_back() {
        // 2026-10-25: Berlin goes from CEST (+2) back to CET (+1) at 01:00Z; wall-clock
        // 02:00-03:00 happens twice (00:00Z-01:00Z, then 01:00Z-02:00Z).
        const FALL_BACK: i64 = 1_792_890_000_000; // 2026-10-25T01:00:00Z
        let every_5 = CronTimes::parse("*/5 * * * *", "Europe/Berlin").expect("parse");
        // First pass (00:10Z = 02:10 CEST): 02:15 CEST.
        assert_eq!(
            every_5.next_after(FALL_BACK - 50 * MINUTE),
            Some(FALL_BACK - 45 * MINUTE)
        );
        // Second pass (01:10Z = 02:10 CET): those wall-clock times fired already; next is
        // 03:00 CET, never 02:15 CEST (past).
        assert_eq!(
            every_5.next_after(FALL_BACK + 10 * MINUTE),
            Some(FALL_BACK + 60 * MINUTE)
        );
        assert_eq!(
            every_5.next_after(FALL_BACK - 5 * MINUTE),
            Some(FALL_BACK + 60 * MINUTE)
        );
        // A fixed time fires once: after 02:30 CEST (00:30Z), tomorrow's 02:30 CET.
        let at_2_30 = CronTimes::parse("30 2 * * *", "Europe/Berlin").expect("parse");
        let tomorrow = FALL_BACK + 24 * 60 * MINUTE + 30 * MINUTE;
        assert_eq!(at_2_30.next_after(FALL_BACK - 30 * MINUTE), Some(tomorrow));
        assert_eq!(at_2_30.next_after(FALL_BACK + 40 * MINUTE), Some(tomorrow));
    }

    #[test]
    fn a_late_scheduler_fires_once_and_moves_past_now() {
        let times = CronTimes::parse("* * * * *", "UTC").expect("parse");
        let s = every_minute(Some(TEN), true);
        // Ten minutes late (the machine was suspended): one fire, next after now.
        assert_eq!(
            decide(&s, &times, TEN + 10 * MINUTE + 5, false),
            Decision::Fire {
                due: TEN,
                next: Some(TEN + 11 * MINUTE)
            }
        );
        // Not due yet.
        assert_eq!(
            decide(&s, &times, TEN - 1, false),
            Decision::Wait(Some(TEN))
        );
        // The last run is still going: skipped, not queued.
        assert_eq!(
            decide(&s, &times, TEN, true),
            Decision::Skip {
                due: TEN,
                next: Some(TEN + MINUTE)
            }
        );
        // Paused.
        assert_eq!(
            decide(&every_minute(None, false), &times, TEN, false),
            Decision::Wait(None)
        );
    }

    #[test]
    fn a_restart_skips_the_fire_times_it_missed() {
        let times = CronTimes::parse("0 * * * *", "UTC").expect("parse");
        // Down from 10:00 to 15:30: the next fire is 16:00, none of 10:00 ... 15:00 replayed.
        assert_eq!(
            next_fire_at_start(&times, TEN + 330 * MINUTE),
            Some(TEN + 360 * MINUTE)
        );
    }
}
