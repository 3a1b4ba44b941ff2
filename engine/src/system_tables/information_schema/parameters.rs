//! `information_schema.parameters`: the parameters of the functions and procedures the reader
//! may see, in order.

use crate::batches::Col;
use crate::error::Result;
use crate::system_tables::{Reader, SystemTable};

#[derive(Debug)]
pub(crate) struct Parameters;

impl SystemTable for Parameters {
    fn name(&self) -> &'static str {
        "parameters"
    }

    fn columns(&self) -> Vec<Col> {
        vec![
            Col::str_not_null("specific_catalog"),
            Col::str_not_null("specific_schema"),
            Col::str_not_null("specific_name"),
            Col::int("ordinal_position"),
            Col::str_not_null("parameter_mode"),
            Col::str_not_null("parameter_name"),
            Col::str_not_null("data_type"),
            Col::str("parameter_default"),
            Col::str("comment"),
        ]
    }

    fn fill(&self, reader: &Reader<'_>, cols: &mut [Col]) -> Result<()> {
        let mut row = |c: &str,
                       s: &str,
                       n: &str,
                       i: usize,
                       mode: &str,
                       name: &str,
                       t: &str,
                       default: Option<String>,
                       comment: Option<String>| {
            for (col, v) in cols.iter_mut().zip([c, s, n]) {
                col.push_str(Some(v.to_string()));
            }
            cols[3].push_int(Some(i as i64 + 1));
            cols[4].push_str(Some(mode.to_string()));
            cols[5].push_str(Some(name.to_string()));
            cols[6].push_str(Some(t.to_uppercase()));
            cols[7].push_str(default);
            cols[8].push_str(comment);
        };
        for c in reader.catalogs {
            for f in reader.access.functions(c)? {
                for (i, p) in f.params.iter().enumerate() {
                    row(
                        &f.catalog,
                        &f.schema,
                        &f.name,
                        i,
                        "IN",
                        &p.name,
                        &p.data_type,
                        None,
                        None,
                    );
                }
            }
            for p in reader.access.procedures(c)? {
                for (i, q) in p.params.iter().enumerate() {
                    row(
                        &p.catalog,
                        &p.schema,
                        &p.name,
                        i,
                        q.mode.as_str(),
                        &q.name,
                        &q.data_type,
                        q.default.clone(),
                        q.comment.clone(),
                    );
                }
            }
        }
        Ok(())
    }
}
