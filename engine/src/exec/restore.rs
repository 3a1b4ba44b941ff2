//! `RESTORE TABLE t TO VERSION AS OF n | TIMESTAMP AS OF ts`: one commit that makes the table's
//! files those of the earlier state.

use arrow::datatypes::SchemaRef;

use crate::batches::{batch, rows_output, Col};
use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::error::Result;
use crate::output::StatementOutput;
use crate::parser::AsOfSpec;
use crate::session::Session;
use crate::time_travel::AsOf;

fn restore_columns() -> Vec<Col> {
    vec![
        Col::int("table_size_after_restore"),
        Col::int("num_of_files_after_restore"),
        Col::int("num_removed_files"),
        Col::int("num_restored_files"),
    ]
}

impl Session {
    pub(crate) fn restore_schema() -> Result<SchemaRef> {
        Ok(batch(restore_columns())?.schema())
    }

    /// `RESTORE TABLE t TO VERSION AS OF n | TIMESTAMP AS OF ts`: one commit that makes the
    /// table's files those of the earlier state.
    pub(crate) async fn restore(
        &mut self,
        name: &[String],
        as_of: &AsOfSpec,
    ) -> Result<StatementOutput> {
        let as_of = match as_of {
            AsOfSpec::Version(v) => AsOf::Version(*v),
            AsOfSpec::Timestamp(e) => {
                AsOf::Timestamp(crate::planner::evaluate_timestamp(&self.ctx.state(), e)?)
            }
        };
        let (c, s, t) = self.qualify_table(name)?;
        let entry = self.lookup_table(&c, &s, &t)?;
        self.require_writable(&entry, Some("RESTORE"))?;
        // Validates the target state exists, with Weir's error messages.
        self.state.table_as_of(&entry, &as_of).await?;
        let write = self.begin_write(&entry, WriteKind::Restore).await?;
        let mut builder = write
            .table()?
            .restore()
            .with_commit_properties(write.properties());
        builder = match as_of {
            AsOf::Version(v) => builder.with_version_to_restore(v),
            AsOf::Timestamp(at) => builder.with_datetime_to_restore(at),
        };
        let (table, metrics) = builder.await?;
        let snapshot = table.snapshot()?;
        let files: Vec<_> = snapshot.log_data().iter().collect();
        let size: i64 = files.iter().map(|f| f.size()).sum();
        let mut cols = restore_columns();
        cols[0].push_int(Some(size));
        cols[1].push_int(Some(files.len() as i64));
        cols[2].push_int(Some(metrics.num_removed_file as i64));
        cols[3].push_int(Some(metrics.num_restored_file as i64));
        let written = WriteMetrics {
            files_added: Some(metrics.num_restored_file as u64),
            files_removed: Some(metrics.num_removed_file as u64),
            ..WriteMetrics::default()
        };
        // The restored version's schema and properties (constraints) are the table's again.
        write.finish(table, written, MetastoreSync::Full)?;
        rows_output(cols)
    }
}
