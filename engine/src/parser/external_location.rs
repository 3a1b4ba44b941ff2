//! External location statements: named storage URLs, and who may read the files under them.
//!
//! ```sql
//! CREATE EXTERNAL LOCATION [IF NOT EXISTS] name URL 'url' [COMMENT 'text']
//! ALTER EXTERNAL LOCATION name RENAME TO new_name | SET URL 'url' | [SET] OWNER TO principal
//! DROP EXTERNAL LOCATION [IF EXISTS] name
//! DESCRIBE EXTERNAL LOCATION name
//! SHOW EXTERNAL LOCATIONS [LIKE 'pattern']
//! COMMENT ON EXTERNAL LOCATION name IS 'text' | NULL
//! GRANT READ FILES ON EXTERNAL LOCATION name TO principal   -- governance.rs
//! ```

use datafusion::sql::sqlparser::tokenizer::Token;
use weir_catalog::LocationChange;

use super::governance::{GovernanceStatement, GrantTarget};
use super::{Statement, P};
use crate::error::{EngineError, Result};

/// An external location statement, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalLocationStatement {
    Create {
        name: String,
        url: String,
        comment: Option<String>,
        if_not_exists: bool,
    },
    Alter {
        name: String,
        change: LocationChange,
    },
    Drop {
        name: String,
        if_exists: bool,
    },
    Describe {
        name: String,
    },
    Show {
        like: Option<String>,
    },
}

impl ExternalLocationStatement {
    pub fn kind(&self) -> crate::statement_kind::StatementKind {
        use crate::statement_kind::StatementKind as K;
        match self {
            ExternalLocationStatement::Create { .. } => K::CreateExternalLocation,
            ExternalLocationStatement::Alter { .. } => K::AlterExternalLocation,
            ExternalLocationStatement::Drop { .. } => K::DropExternalLocation,
            ExternalLocationStatement::Describe { .. } => K::Describe,
            ExternalLocationStatement::Show { .. } => K::Show,
        }
    }
}

fn statement(s: ExternalLocationStatement) -> Option<Statement> {
    Some(Statement::ExternalLocation(Box::new(s)))
}

/// Parses an external location statement at the parser's position, or returns `None`
/// consuming nothing.
pub(super) fn parse(p: &mut P<'_, '_>) -> Result<Option<Statement>> {
    if p.eat(&["CREATE", "EXTERNAL", "LOCATION"]) {
        let if_not_exists = p.if_not_exists();
        let name = p.ident()?;
        p.expect(&["URL"])?;
        let url = p.string()?;
        if p.eat(&["WITH"]) {
            return Err(EngineError::not_supported(
                "storage credentials are the server's (its S3 settings): write CREATE EXTERNAL \
                 LOCATION name URL 'url' without WITH (STORAGE CREDENTIAL ...)",
            ));
        }
        let comment = if p.eat(&["COMMENT"]) {
            Some(p.string()?)
        } else {
            None
        };
        return Ok(statement(ExternalLocationStatement::Create {
            name,
            url,
            comment,
            if_not_exists,
        }));
    }
    if p.eat(&["ALTER", "EXTERNAL", "LOCATION"]) {
        let name = p.ident()?;
        if p.eat(&["RENAME", "TO"]) {
            let to = p.ident()?;
            return Ok(statement(ExternalLocationStatement::Alter {
                name,
                change: LocationChange::Rename(to),
            }));
        }
        if p.eat(&["SET", "URL"]) {
            let url = p.string()?;
            return Ok(statement(ExternalLocationStatement::Alter {
                name,
                change: LocationChange::Url(url),
            }));
        }
        p.eat(&["SET"]);
        if p.eat(&["OWNER", "TO"]) {
            return Ok(Some(Statement::Governance(Box::new(
                GovernanceStatement::SetOwner {
                    on: GrantTarget::ExternalLocation(name),
                    owner: super::governance::principal(p)?,
                },
            ))));
        }
        return Err(EngineError::syntax(
            "ALTER EXTERNAL LOCATION takes RENAME TO name, SET URL 'url' or OWNER TO principal",
        ));
    }
    if p.eat(&["DROP", "EXTERNAL", "LOCATION"]) {
        let if_exists = p.if_exists();
        let name = p.ident()?;
        // Databricks' FORCE drops a location tables depend on; none here depend on one.
        p.eat(&["FORCE"]);
        return Ok(statement(ExternalLocationStatement::Drop {
            name,
            if_exists,
        }));
    }
    if p.eat(&["DESCRIBE", "EXTERNAL", "LOCATION"]) || p.eat(&["DESC", "EXTERNAL", "LOCATION"]) {
        return Ok(statement(ExternalLocationStatement::Describe {
            name: p.ident()?,
        }));
    }
    if p.eat(&["SHOW", "EXTERNAL", "LOCATIONS"]) {
        return Ok(statement(ExternalLocationStatement::Show {
            like: p.like()?,
        }));
    }
    if p.eat(&["COMMENT", "ON", "EXTERNAL", "LOCATION"]) {
        let name = p.ident()?;
        p.expect(&["IS"])?;
        let comment = match p.p.peek_token().token {
            Token::Word(w) if w.value.eq_ignore_ascii_case("NULL") => {
                p.p.next_token();
                None
            }
            _ => Some(p.string()?),
        };
        return Ok(statement(ExternalLocationStatement::Alter {
            name,
            change: LocationChange::Comment(comment),
        }));
    }
    Ok(None)
}
