//! Cursors: `DECLARE ... CURSOR`, `FETCH` and `CLOSE`. A cursor holds its query's stream and
//! runs it only as far as the client fetches.

use datafusion::logical_expr::LogicalPlan;

use crate::error::{EngineError, Result};
use crate::exec::prepared::Prepared;
use crate::output::StatementOutput;
use crate::parser::Statement;
use crate::session::{Cursor, Session};
use crate::statement_kind::StatementKind;

pub(crate) fn cursor_missing(name: &str) -> EngineError {
    EngineError::InvalidCursor(format!("cursor \"{name}\" does not exist"))
}

impl Session {
    pub(crate) fn cursor(&self, name: &str) -> Result<&Cursor> {
        self.cursors.get(name).ok_or_else(|| cursor_missing(name))
    }

    pub(crate) async fn declare_cursor(
        &mut self,
        name: &str,
        plan: LogicalPlan,
        hold: bool,
    ) -> Result<StatementOutput> {
        if self.cursors.contains_key(name) {
            return Err(EngineError::Duplicate {
                sqlstate: "42P03",
                message: format!("cursor \"{name}\" already exists"),
            });
        }
        let df = self.ctx.execute_logical_plan(plan).await?;
        let stream = df.execute_stream().await?;
        let schema = stream.schema();
        self.cursors.insert(
            name.to_string(),
            Cursor {
                schema,
                stream: std::sync::Mutex::new(stream),
                pending: None,
                hold,
            },
        );
        Ok(StatementOutput::command(StatementKind::DeclareCursor))
    }

    /// Reads up to `count` rows (all with `None`) from a cursor; the query runs only as far as
    /// the client fetches.
    pub(crate) async fn fetch(
        &mut self,
        name: &str,
        count: Option<u64>,
    ) -> Result<StatementOutput> {
        use futures::StreamExt;
        let cursor = self
            .cursors
            .get_mut(name)
            .ok_or_else(|| cursor_missing(name))?;
        let mut wanted = count.map(|c| c as usize).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        while wanted > 0 {
            let batch = match cursor.pending.take() {
                Some(b) => b,
                None => match cursor
                    .stream
                    .get_mut()
                    .unwrap_or_else(|p| p.into_inner())
                    .next()
                    .await
                {
                    Some(b) => b?,
                    None => break,
                },
            };
            if batch.num_rows() > wanted {
                out.push(batch.slice(0, wanted));
                cursor.pending = Some(batch.slice(wanted, batch.num_rows() - wanted));
                wanted = 0;
            } else {
                wanted -= batch.num_rows();
                out.push(batch);
            }
        }
        let schema = cursor.schema.clone();
        let stream = datafusion::physical_plan::memory::MemoryStream::try_new(out, schema, None)?;
        Ok(StatementOutput::Rows(Box::pin(stream)))
    }

    /// `FETCH ALL FROM name`, prepared: what a protocol's portal over a declared cursor runs.
    pub fn prepare_cursor_fetch(&self, name: &str) -> Result<Prepared> {
        self.cursor(name)?;
        Ok(Prepared::new(
            format!("FETCH ALL FROM \"{}\"", name.replace('"', "\"\"")),
            Statement::Fetch {
                name: name.to_string(),
                count: None,
            },
            None,
        ))
    }
}
