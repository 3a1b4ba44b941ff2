//! SQL procedures: their definitions (parameters, body text, security mode) and owners.

use rusqlite::{params, OptionalExtension, Row};

use crate::error::{MetastoreError, Result};
use crate::model::ProcedureEntry;
use crate::store::{from_json, json, Metastore};

const COLUMNS: &str = "catalog, schema, name, params, body, definer, comment, owner, created_at_ms";

impl Metastore {
    /// Creates a procedure; `replace` replaces one of that name (keeping its owner).
    pub fn create_procedure(&self, p: &ProcedureEntry, replace: bool) -> Result<()> {
        self.write(|tx| {
            let schema = tx
                .query_row(
                    "SELECT 1 FROM schemas WHERE catalog = ?1 AND name = ?2",
                    params![p.catalog, p.schema],
                    |_| Ok(()),
                )
                .optional()?;
            if schema.is_none() {
                return Err(MetastoreError::not_found(
                    "schema",
                    format!("{}.{}", p.catalog, p.schema),
                ));
            }
            let conflict = if replace {
                "ON CONFLICT (catalog, schema, name) DO UPDATE SET params = excluded.params,
                   body = excluded.body, definer = excluded.definer, comment = excluded.comment,
                   owner = excluded.owner"
            } else {
                "ON CONFLICT DO NOTHING"
            };
            let n = tx.execute(
                &format!(
                    "INSERT INTO procedures ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     {conflict}"
                ),
                params![
                    p.catalog,
                    p.schema,
                    p.name,
                    json(&p.params),
                    p.body,
                    p.definer,
                    p.comment,
                    p.owner,
                    p.created_at_ms
                ],
            )?;
            if n == 0 {
                return Err(MetastoreError::already_exists("procedure", p.full_name()));
            }
            Ok(())
        })
    }

    pub fn get_procedure(&self, c: &str, s: &str, n: &str) -> Result<Option<ProcedureEntry>> {
        let conn = self.lock();
        let raw = conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM procedures
                     WHERE catalog = ?1 AND schema = ?2 AND name = ?3"
                ),
                params![c, s, n],
                raw_procedure,
            )
            .optional()?;
        raw.map(procedure_from_raw).transpose()
    }

    /// The procedures of a catalog, by schema and name.
    pub fn list_procedures(&self, catalog: &str) -> Result<Vec<ProcedureEntry>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM procedures WHERE catalog = ?1 ORDER BY schema, name"
        ))?;
        let rows = stmt.query_map(params![catalog], raw_procedure)?;
        rows.map(|r| procedure_from_raw(r?)).collect()
    }

    /// Drops a procedure and the grants on it.
    pub fn drop_procedure(&self, c: &str, s: &str, name: &str) -> Result<()> {
        self.write(|tx| {
            let removed = tx.execute(
                "DELETE FROM procedures WHERE catalog = ?1 AND schema = ?2 AND name = ?3",
                params![c, s, name],
            )?;
            if removed == 0 {
                return Err(MetastoreError::not_found(
                    "procedure",
                    format!("{c}.{s}.{name}"),
                ));
            }
            tx.execute(
                "DELETE FROM grants WHERE object_type = 'PROCEDURE' AND catalog = ?1
                 AND schema = ?2 AND name = ?3",
                params![c, s, name],
            )?;
            Ok(())
        })
    }
}

type RawProcedure = (
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    String,
    i64,
);

fn raw_procedure(r: &Row<'_>) -> rusqlite::Result<RawProcedure> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn procedure_from_raw(raw: RawProcedure) -> Result<ProcedureEntry> {
    let (catalog, schema, name, params, body, definer, comment, owner, created_at_ms) = raw;
    Ok(ProcedureEntry {
        catalog,
        schema,
        name,
        params: from_json(&params)?,
        body,
        definer,
        comment,
        owner,
        created_at_ms,
    })
}

#[cfg(test)]
mod tests {
    use crate::model::{ParameterMode, ProcedureEntry, ProcedureParam};
    use crate::Metastore;

    #[test]
    fn procedures_round_trip_replace_and_drop() {
        let m = Metastore::open_in_memory().expect("open");
        m.bootstrap(crate::ADMIN_USER).expect("bootstrap");
        let p = ProcedureEntry {
            catalog: "main".into(),
            schema: "default".into(),
            name: "p".into(),
            params: vec![ProcedureParam {
                mode: ParameterMode::InOut,
                name: "x".into(),
                data_type: "INT".into(),
                default: Some("1".into()),
                comment: None,
            }],
            body: "BEGIN SELECT 1; END".into(),
            definer: true,
            comment: None,
            owner: "admin".into(),
            created_at_ms: 1,
        };
        m.create_procedure(&p, false).expect("created");
        assert!(m.create_procedure(&p, false).is_err());
        let mut q = p.clone();
        q.body = "BEGIN SELECT 2; END".into();
        q.owner = "other".into();
        m.create_procedure(&q, true).expect("replaced");
        let got = m
            .get_procedure("main", "default", "p")
            .expect("read")
            .expect("found");
        assert_eq!(got.body, q.body);
        assert_eq!(got.owner, "other");
        assert_eq!(got.params, p.params);
        assert_eq!(m.list_procedures("main").expect("list").len(), 1);
        m.drop_procedure("main", "default", "p").expect("dropped");
        assert!(m
            .get_procedure("main", "default", "p")
            .expect("read")
            .is_none());
    }
}
