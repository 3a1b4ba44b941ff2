//! `information_schema.routines`: the SQL functions and procedures the reader may see.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Routines;

impl SystemTable for Routines {
    fn name(&self) -> &'static str {
        "routines"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("specific_catalog"),
            Col::str_not_null("specific_schema"),
            Col::str_not_null("specific_name"),
            Col::str_not_null("routine_catalog"),
            Col::str_not_null("routine_schema"),
            Col::str_not_null("routine_name"),
            Col::str("routine_type"),
            Col::str("data_type"),
            Col::str("routine_body"),
            Col::str("routine_definition"),
            Col::str("parameters"),
            Col::str("sql_data_access"),
            Col::str("is_deterministic"),
            Col::str("routine_owner"),
            Col::str("comment"),
            Col::time("created"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        for c in reader.catalogs {
            for f in reader.access.functions(c)? {
                let params = f
                    .params
                    .iter()
                    .map(|p| format!("{} {}", p.name, p.data_type))
                    .collect::<Vec<_>>()
                    .join(", ");
                let names = [
                    &f.catalog, &f.schema, &f.name, &f.catalog, &f.schema, &f.name,
                ];
                for (col, v) in cols.iter_mut().zip(names) {
                    col.push_str(Some(v.clone()));
                }
                cols[6].push_str(Some("FUNCTION"));
                cols[7].push_str(Some(f.return_type.to_uppercase()));
                cols[8].push_str(Some("SQL"));
                cols[9].push_str(Some(f.body.clone()));
                cols[10].push_str(Some(params));
                cols[11].push_str(Some("CONTAINS SQL"));
                cols[12].push_str(Some("NO"));
                cols[13].push_str(Some(f.owner.clone()));
                cols[14].push_str(f.comment.clone());
                cols[15].push_int(Some(f.created_at_ms));
            }
            for p in reader.access.procedures(c)? {
                let params = p
                    .params
                    .iter()
                    .map(|q| format!("{} {} {}", q.mode.as_str(), q.name, q.data_type))
                    .collect::<Vec<_>>()
                    .join(", ");
                let names = [
                    &p.catalog, &p.schema, &p.name, &p.catalog, &p.schema, &p.name,
                ];
                for (col, v) in cols.iter_mut().zip(names) {
                    col.push_str(Some(v.clone()));
                }
                cols[6].push_str(Some("PROCEDURE"));
                cols[7].push_str(None::<String>);
                cols[8].push_str(Some("SQL"));
                cols[9].push_str(Some(p.body.clone()));
                cols[10].push_str(Some(params));
                cols[11].push_str(Some("MODIFIES SQL DATA"));
                cols[12].push_str(Some("NO"));
                cols[13].push_str(Some(p.owner.clone()));
                cols[14].push_str(p.comment.clone());
                cols[15].push_int(Some(p.created_at_ms));
            }
        }
        Ok(())
    }
}
