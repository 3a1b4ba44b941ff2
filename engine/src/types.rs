//! Spark SQL type names (what Databricks users write and read) to Arrow types and back.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};

use crate::error::{EngineError, Result};

/// Parses a Spark SQL type name such as `bigint`, `decimal(10,2)`, `array<string>`,
/// `map<string,int>` or `struct<a: int, b: string>`.
pub fn parse_spark_type(text: &str) -> Result<DataType> {
    let mut p = TypeParser {
        s: text.as_bytes(),
        pos: 0,
        text,
        depth: 0,
    };
    let t = p.parse()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.error("unexpected trailing text"));
    }
    Ok(t)
}

struct TypeParser<'a> {
    s: &'a [u8],
    pos: usize,
    text: &'a str,
    /// Nesting of array/map/struct, bounded so that hostile input cannot exhaust the stack.
    depth: usize,
}

const MAX_TYPE_NESTING: usize = 64;

impl TypeParser<'_> {
    fn error(&self, what: &str) -> EngineError {
        EngineError::syntax(format!(
            "invalid type '{}': {what} at position {}",
            self.text, self.pos
        ))
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        self.text[start..self.pos].to_ascii_lowercase()
    }

    fn field_name(&mut self) -> Result<String> {
        self.skip_ws();
        if self.pos < self.s.len() && self.s[self.pos] == b'`' {
            let start = self.pos + 1;
            let end = self.text[start..]
                .find('`')
                .ok_or_else(|| self.error("unterminated `"))?
                + start;
            self.pos = end + 1;
            return Ok(self.text[start..end].to_string());
        }
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.error("expected a field name"));
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.pos < self.s.len() && self.s[self.pos] == c {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", c as char)))
        }
    }

    fn number(&mut self) -> Result<u32> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        self.text[start..self.pos]
            .parse()
            .map_err(|_| self.error("expected a number"))
    }

    fn parse(&mut self) -> Result<DataType> {
        self.depth += 1;
        if self.depth > MAX_TYPE_NESTING {
            return Err(self.error(&format!("types nest deeper than {MAX_TYPE_NESTING} levels")));
        }
        let t = self.parse_inner();
        self.depth -= 1;
        t
    }

    fn parse_inner(&mut self) -> Result<DataType> {
        let name = self.word();
        Ok(match name.as_str() {
            "string" | "text" => DataType::Utf8,
            "varchar" | "char" | "character" => {
                if self.eat(b'(') {
                    self.number()?;
                    self.expect(b')')?;
                }
                DataType::Utf8
            }
            "tinyint" | "byte" => DataType::Int8,
            "smallint" | "short" => DataType::Int16,
            "int" | "integer" => DataType::Int32,
            "bigint" | "long" => DataType::Int64,
            "float" | "real" => DataType::Float32,
            "double" => {
                // Accept `DOUBLE PRECISION` as PostgreSQL users write it.
                let save = self.pos;
                if self.word() != "precision" {
                    self.pos = save;
                }
                DataType::Float64
            }
            "decimal" | "dec" | "numeric" => {
                let (mut p, mut s) = (10u32, 0u32);
                if self.eat(b'(') {
                    p = self.number()?;
                    if self.eat(b',') {
                        s = self.number()?;
                    }
                    self.expect(b')')?;
                }
                if p == 0 || p > 38 || s > p {
                    return Err(
                        self.error("decimal precision must be 1..=38 and scale <= precision")
                    );
                }
                DataType::Decimal128(p as u8, s as i8)
            }
            "boolean" | "bool" => DataType::Boolean,
            "date" => DataType::Date32,
            "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "timestamp_ntz" => DataType::Timestamp(TimeUnit::Microsecond, None),
            "binary" | "bytea" => DataType::Binary,
            "array" => {
                self.expect(b'<')?;
                let inner = self.parse()?;
                self.expect(b'>')?;
                DataType::List(Arc::new(Field::new("element", inner, true)))
            }
            "map" => {
                self.expect(b'<')?;
                let k = self.parse()?;
                self.expect(b',')?;
                let v = self.parse()?;
                self.expect(b'>')?;
                let entries = Field::new(
                    "key_value",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", k, false),
                        Field::new("value", v, true),
                    ])),
                    false,
                );
                DataType::Map(Arc::new(entries), false)
            }
            "struct" => {
                self.expect(b'<')?;
                let mut fields = Vec::new();
                if !self.eat(b'>') {
                    loop {
                        let name = self.field_name()?;
                        self.eat(b':');
                        let t = self.parse()?;
                        fields.push(Field::new(name, t, true));
                        if self.eat(b',') {
                            continue;
                        }
                        self.expect(b'>')?;
                        break;
                    }
                }
                DataType::Struct(Fields::from(fields))
            }
            "" => return Err(self.error("expected a type name")),
            other => return Err(EngineError::syntax(format!("unknown data type '{other}'"))),
        })
    }
}

/// The Spark SQL name of an Arrow type, as shown by DESCRIBE and information_schema.
pub fn spark_type_name(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 => "smallint".into(),
        DataType::UInt16 => "int".into(),
        DataType::UInt32 | DataType::UInt64 => "bigint".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "binary".into(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::FixedSizeList(f, _) => {
            format!("array<{}>", spark_type_name(f.data_type()))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!(
                    "map<{},{}>",
                    spark_type_name(kv[0].data_type()),
                    spark_type_name(kv[1].data_type())
                )
            }
            _ => "map".into(),
        },
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), spark_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        DataType::Dictionary(_, v) => spark_type_name(v),
        DataType::Null => "void".into(),
        other => other.to_string().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_spark_names() {
        for name in [
            "string",
            "tinyint",
            "smallint",
            "int",
            "bigint",
            "float",
            "double",
            "decimal(12,3)",
            "boolean",
            "date",
            "timestamp",
            "timestamp_ntz",
            "binary",
            "array<string>",
            "map<string,bigint>",
            "struct<a:int,b:array<string>>",
        ] {
            let t = parse_spark_type(name).unwrap();
            assert_eq!(spark_type_name(&t), name, "{name}");
        }
    }

    #[test]
    fn accepts_aliases_and_rejects_junk() {
        assert_eq!(parse_spark_type("INTEGER").unwrap(), DataType::Int32);
        assert_eq!(
            parse_spark_type("DOUBLE PRECISION").unwrap(),
            DataType::Float64
        );
        assert_eq!(parse_spark_type("VARCHAR(20)").unwrap(), DataType::Utf8);
        assert!(parse_spark_type("decimal(40,2)").is_err());
        assert!(parse_spark_type("nosuchtype").is_err());
        assert!(parse_spark_type("array<int").is_err());
        let deep = format!("{}int{}", "array<".repeat(100_000), ">".repeat(100_000));
        assert!(parse_spark_type(&deep).is_err());
    }
}
