//! Schedule statements: a procedure call on a cron schedule.
//!
//! ```sql
//! CREATE [OR REPLACE] SCHEDULE [IF NOT EXISTS] c.s.name
//!   CRON 'pattern' [AT TIME ZONE 'zone'] [COMMENT '...']
//!   AS CALL c.s.procedure(args)
//! ALTER SCHEDULE c.s.name PAUSE | RESUME | CRON 'pattern' [AT TIME ZONE 'zone']
//! DROP SCHEDULE [IF EXISTS] c.s.name
//! DESCRIBE SCHEDULE c.s.name
//! SHOW SCHEDULES [IN c.s] [LIKE 'pattern']
//! ```

use super::script::Call;
use super::{Name, Statement, P};
use crate::error::{EngineError, Result};

/// `CREATE SCHEDULE`, as written.
#[derive(Debug, Clone)]
pub struct CreateSchedule {
    pub name: Name,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub cron: String,
    pub time_zone: Option<String>,
    pub comment: Option<String>,
    /// The call each fire runs.
    pub call: Call,
    /// The call's text, kept with the schedule.
    pub call_text: String,
}

/// What `ALTER SCHEDULE` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterSchedule {
    Pause,
    Resume,
    Cron {
        cron: String,
        time_zone: Option<String>,
    },
}

/// Parses a schedule statement at the parser's position, or returns `None` consuming nothing.
pub(super) fn parse(p: &mut P<'_, '_>) -> Result<Option<Statement>> {
    if p.peek_is(&["CREATE", "SCHEDULE"]) || p.peek_is(&["CREATE", "OR", "REPLACE", "SCHEDULE"]) {
        p.expect(&["CREATE"])?;
        let or_replace = p.eat(&["OR", "REPLACE"]);
        p.expect(&["SCHEDULE"])?;
        return Ok(Some(Statement::CreateSchedule(Box::new(create(
            p, or_replace,
        )?))));
    }
    if p.eat(&["ALTER", "SCHEDULE"]) {
        let name = p.name()?;
        let action = if p.eat(&["PAUSE"]) {
            AlterSchedule::Pause
        } else if p.eat(&["RESUME"]) {
            AlterSchedule::Resume
        } else if p.eat(&["CRON"]) {
            let cron = p.string()?;
            AlterSchedule::Cron {
                cron,
                time_zone: time_zone(p)?,
            }
        } else {
            return Err(EngineError::syntax(
                "ALTER SCHEDULE takes PAUSE, RESUME or CRON 'pattern' [AT TIME ZONE 'zone']",
            ));
        };
        return Ok(Some(Statement::AlterSchedule { name, action }));
    }
    if p.eat(&["DROP", "SCHEDULE"]) {
        let if_exists = p.if_exists();
        return Ok(Some(Statement::DropSchedule {
            name: p.name()?,
            if_exists,
        }));
    }
    if p.eat(&["DESCRIBE", "SCHEDULE"]) || p.eat(&["DESC", "SCHEDULE"]) {
        return Ok(Some(Statement::DescribeSchedule { name: p.name()? }));
    }
    if p.eat(&["SHOW", "SCHEDULES"]) {
        let schema = if p.eat(&["IN"]) || p.eat(&["FROM"]) {
            Some(p.name()?)
        } else {
            None
        };
        return Ok(Some(Statement::ShowSchedules {
            schema,
            like: p.like()?,
        }));
    }
    Ok(None)
}

fn create(p: &mut P<'_, '_>, or_replace: bool) -> Result<CreateSchedule> {
    let if_not_exists = p.if_not_exists();
    if or_replace && if_not_exists {
        return Err(EngineError::syntax(
            "CREATE OR REPLACE SCHEDULE cannot also say IF NOT EXISTS",
        ));
    }
    let name = p.name()?;
    p.expect(&["CRON"])?;
    let cron = p.string()?;
    let time_zone = time_zone(p)?;
    let comment = if p.eat(&["COMMENT"]) {
        Some(p.string()?)
    } else {
        None
    };
    p.expect(&["AS"])?;
    if !p.peek_is(&["CALL"]) {
        return Err(EngineError::syntax(
            "a schedule runs a procedure: AS CALL c.s.procedure(args)",
        ));
    }
    let start = p.p.index();
    let call = super::script::call(p)?;
    if call.detached {
        return Err(EngineError::syntax(
            "a schedule's runs are background runs already: write AS CALL, not AS CALL ASYNC",
        ));
    }
    let call_text = p.text_since(start);
    Ok(CreateSchedule {
        name,
        or_replace,
        if_not_exists,
        cron,
        time_zone,
        comment,
        call,
        call_text,
    })
}

/// `[AT TIME ZONE 'zone']`
fn time_zone(p: &mut P<'_, '_>) -> Result<Option<String>> {
    if p.eat(&["AT", "TIME", "ZONE"]) {
        Ok(Some(p.string()?))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse_sql;

    #[test]
    fn create_keeps_its_call() {
        let s = parse_sql(
            "CREATE OR REPLACE SCHEDULE ops.hourly CRON '0 * * * *' AT TIME ZONE 'Europe/Berlin' \
             COMMENT 'refresh' AS CALL ops.refresh(day => current_date())",
        )
        .expect("parses")
        .remove(0);
        let Statement::CreateSchedule(c) = s else {
            panic!("not a schedule: {s:?}")
        };
        assert_eq!(
            (
                c.cron.as_str(),
                c.time_zone.as_deref(),
                c.comment.as_deref(),
                c.call_text.as_str(),
                c.or_replace
            ),
            (
                "0 * * * *",
                Some("Europe/Berlin"),
                Some("refresh"),
                "CALL ops.refresh(day => current_date())",
                true
            )
        );
    }

    #[test]
    fn alter_forms() {
        let s = parse_sql("ALTER SCHEDULE ops.hourly CRON '*/5 * * * *'")
            .expect("parses")
            .remove(0);
        assert!(matches!(
            s,
            Statement::AlterSchedule {
                action: AlterSchedule::Cron { ref cron, time_zone: None },
                ..
            } if cron == "*/5 * * * *"
        ));
        assert!(parse_sql("ALTER SCHEDULE ops.hourly STOP").is_err());
        assert!(parse_sql("CREATE SCHEDULE s CRON '* * * * *' AS SELECT 1").is_err());
        assert!(parse_sql("CREATE SCHEDULE s CRON '* * * * *' AS CALL ASYNC p()").is_err());
    }
}
