//! `ALTER TABLE|VIEW`: renames, columns, comments, constraints, properties, owner.

use std::sync::Arc;

use weir_catalog::{Privilege, TableEntry, TableKind};

use super::create_table::kernel_fields;
use super::is_delta_property;
use crate::delta::commit::{MetastoreSync, WriteKind, WriteMetrics};
use crate::delta::schema::{column_comments, columns_of};
use crate::error::{EngineError, Result};
use crate::parser::AlterTableOp;
use crate::session::Session;

impl Session {
    /// Applies one ALTER operation.
    pub(crate) async fn alter_table(&mut self, name: &[String], op: AlterTableOp) -> Result<()> {
        let (c, s, t) = self.qualify_table(name)?;
        let mut entry = self.lookup_table(&c, &s, &t)?;
        let m = self.state.metastore.clone();
        let is_view = entry.kind == TableKind::View;
        // Changing a table is its owner's (or a MANAGE holder's) business.
        let access = self.access()?;
        access.require_use(&c, Some(&s))?;
        access.require_manage(&crate::access::table_securable(&entry))?;
        match op {
            AlterTableOp::SetMask {
                column,
                function,
                using,
            } => self.set_policy(&access, &entry, Some(&column), Some((&function, &using)))?,
            AlterTableOp::DropMask { column } => {
                self.set_policy(&access, &entry, Some(&column), None)?
            }
            AlterTableOp::SetRowFilter { function, columns } => {
                self.set_policy(&access, &entry, None, Some((&function, &columns)))?
            }
            AlterTableOp::DropRowFilter => self.set_policy(&access, &entry, None, None)?,
            AlterTableOp::RenameTo(to) => {
                let (c2, s2, t2) = self.qualify_table(&to)?;
                access.require_create(&c2, &s2, Privilege::CreateTable)?;
                if c2 != c {
                    return Err(EngineError::invalid(
                        "ALTER TABLE ... RENAME TO cannot move a table to another catalog",
                    ));
                }
                m.rename_table(&entry, &s2, &t2)?;
            }
            AlterTableOp::AddCheck { name, expr } => {
                let write = self.begin_write(&entry, WriteKind::AddConstraint).await?;
                let table = write
                    .table()?
                    .add_constraint()
                    .with_constraint(name.clone(), expr.as_str())
                    .with_session_state(Arc::new(self.ctx.state()))
                    .with_commit_properties(write.properties())
                    .await
                    .map_err(|e| match EngineError::from(e) {
                        // Existing rows that fail the check: the constraint is not added.
                        EngineError::NotNullViolation(m) | EngineError::DataException(m) => {
                            EngineError::Coded {
                                sqlstate: "23514",
                                message: format!(
                                    "check constraint \"{name}\" of table '{}' is violated by some row: {m}",
                                    entry.full_name()
                                ),
                            }
                        }
                        other => other,
                    })?;
                write.finish(table, WriteMetrics::default(), MetastoreSync::Properties)?;
            }
            AlterTableOp::DropConstraint { name, if_exists } => {
                let write = self.begin_write(&entry, WriteKind::DropConstraint).await?;
                let table = write
                    .table()?
                    .drop_constraints()
                    .with_constraint(name.clone())
                    .with_raise_if_not_exists(!if_exists)
                    .with_commit_properties(write.properties())
                    .await
                    .map_err(|e| match EngineError::from(e) {
                        EngineError::Storage(_) | EngineError::Internal(_) if !if_exists => {
                            EngineError::Coded {
                                sqlstate: "42704",
                                message: format!(
                                    "constraint \"{name}\" of table '{}' does not exist",
                                    entry.full_name()
                                ),
                            }
                        }
                        other => other,
                    })?;
                write.finish(table, WriteMetrics::default(), MetastoreSync::Properties)?;
            }
            AlterTableOp::OwnerTo(owner) => {
                if !m.principal_exists(&owner)? {
                    return Err(EngineError::Coded {
                        sqlstate: "42704",
                        message: format!("principal '{owner}' does not exist"),
                    });
                }
                access.require_may_give_to(&owner)?;
                entry.owner = owner;
                m.update_table(&entry)?;
            }
            AlterTableOp::ColumnComment { column, comment } => {
                let col = entry
                    .columns
                    .iter_mut()
                    .find(|x| x.name == column)
                    .ok_or_else(|| {
                        EngineError::UndefinedColumn(format!(
                            "column '{column}' does not exist in '{c}.{s}.{t}'"
                        ))
                    })?;
                col.comment = comment;
                m.update_table(&entry)?;
            }
            _ if is_view => {
                return Err(EngineError::WrongObjectType(format!(
                    "'{c}.{s}.{t}' is a view"
                )))
            }
            AlterTableOp::AddColumns(cols) => {
                for col in &cols {
                    if entry.columns.iter().any(|x| x.name == col.name) {
                        return Err(EngineError::Duplicate {
                            sqlstate: "42701",
                            message: format!("column '{}' already exists", col.name),
                        });
                    }
                    if !col.nullable {
                        return Err(EngineError::invalid(format!("added column '{}' must be nullable: existing rows have no value for it", col.name)));
                    }
                }
                let write = self.begin_write(&entry, WriteKind::AddColumns).await?;
                let table = write
                    .table()?
                    .add_columns()
                    .with_fields(kernel_fields(&cols)?)
                    .with_commit_properties(write.properties())
                    .await?;
                let comments = column_comments(
                    entry
                        .columns
                        .iter()
                        .map(|c| (c.name.as_str(), c.comment.as_ref()))
                        .chain(cols.iter().map(|c| (c.name.as_str(), c.comment.as_ref()))),
                );
                entry.columns = columns_of(&table, &comments)?;
                m.update_table(&entry)?;
                write.finish(table, WriteMetrics::default(), MetastoreSync::Data)?;
            }
            AlterTableOp::SetProperties(props) => {
                let (delta_props, user_props): (Vec<_>, Vec<_>) =
                    props.into_iter().partition(|(k, _)| is_delta_property(k));
                if !delta_props.is_empty() {
                    let write = self.begin_write(&entry, WriteKind::SetProperties).await?;
                    let table = write
                        .table()?
                        .set_tbl_properties()
                        .with_properties(delta_props.into_iter().collect())
                        .with_commit_properties(write.properties())
                        .await?;
                    if let Some(updated) =
                        write.finish(table, WriteMetrics::default(), MetastoreSync::Properties)?
                    {
                        entry = updated;
                    }
                }
                entry.properties.extend(user_props);
                m.update_table(&entry)?;
            }
            AlterTableOp::UnsetProperties(keys) => {
                return Err(EngineError::not_supported(format!(
                    "UNSET TBLPROPERTIES ({}) is not supported yet",
                    keys.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// A failed validation of written rows, named as the constraint kind the table has: delta-rs
    /// checks NOT NULL columns and CHECK constraints in one pass with one message.
    pub(crate) fn constraint_error(entry: &TableEntry, e: EngineError) -> EngineError {
        let checks: Vec<String> = entry
            .properties
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("delta.constraints.")
                    .map(|n| format!("{n}: {v}"))
            })
            .collect();
        match e {
            EngineError::NotNullViolation(m) if !checks.is_empty() && m.contains("validation check") => {
                EngineError::Coded {
                    sqlstate: "23514",
                    message: format!(
                        "new rows for table '{}' violate its constraints (CHECK {}; or a NOT NULL column): {m}",
                        entry.full_name(),
                        checks.join(", ")
                    ),
                }
            }
            other => other,
        }
    }
}
