//! `system.access.audit`: one row per statement (both fronts, every protocol message that runs
//! one, Flight bulk ingest, text that did not parse) and per login attempt, in Databricks'
//! shape with Weir's statement columns. Admins read it, and whoever is granted SELECT on it;
//! those see their own rows and the rows of statements whose tables and views they may all see
//! whole (a statement's text names its tables and columns).

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};
use weir_catalog::Page;

#[derive(Debug)]
pub(crate) struct Audit;

/// The SQLSTATEs of a refusal: a missing privilege, a failed login.
const DENIED: &[&str] = &["42501", "28P01"];

impl SystemTable for Audit {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::time("event_time"),
            Col::date("event_date"),
            Col::str_not_null("user_identity"),
            Col::str("source_ip_address"),
            Col::str("user_agent"),
            Col::str_not_null("service_name"),
            Col::str_not_null("action_name"),
            Col::str("session_id"),
            Col::str("statement_id"),
            Col::str("statement_text"),
            Col::str("run_id"),
            Col::str_not_null("status"),
            Col::str_not_null("decision"),
            Col::str("sqlstate"),
            Col::str("error_message"),
            Col::str_not_null("securables"),
            Col::int("rows"),
            Col::int("duration_ms"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        self.fill_page(reader, cols, Page::default()).map(|_| ())
    }

    fn fill_page(&self, reader: &Reader<'_>, cols: &mut [Col], page: Page) -> Result<Option<Page>> {
        super::require_select(reader.access, self.name())?;
        let visible = super::Visibility::new(reader.access, reader.metastore);
        let me = reader.access.user();
        let paged = reader
            .audit
            .records_page(reader.time.from, reader.time.until, page)?;
        for r in paged.items {
            if !visible.everything()
                && r.user != me
                && (r.securables.is_empty() || !r.securables.iter().all(|s| visible.whole_table(s)))
            {
                continue;
            }
            let decision = if r.sqlstate.as_deref().is_some_and(|s| DENIED.contains(&s)) {
                "denied"
            } else {
                "allowed"
            };
            let ip = r
                .client_address
                .as_deref()
                .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
                .map(|a| a.ip().to_string());
            cols[0].push_int(Some(r.event_time_ms));
            cols[1].push_date_of_ms(Some(r.event_time_ms));
            cols[2].push_str(Some(r.user));
            cols[3].push_str(ip);
            cols[4].push_str(r.user_agent);
            cols[5].push_str(Some(r.protocol));
            cols[6].push_str(Some(r.action));
            cols[7].push_str(r.session_id);
            cols[8].push_str(r.statement_id);
            cols[9].push_str(r.statement_text);
            cols[10].push_str(r.run_id);
            cols[11].push_str(Some(r.status));
            cols[12].push_str(Some(decision));
            cols[13].push_str(r.sqlstate);
            cols[14].push_str(r.error_message);
            cols[15].push_str(Some(r.securables.join(",")));
            cols[16].push_int(r.rows);
            cols[17].push_int(r.duration_ms);
        }
        Ok(paged.next)
    }
}
