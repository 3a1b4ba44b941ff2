//! The fixed parts of Flight SQL metadata: server capabilities (GetSqlInfo), the SQL types
//! (GetXdbcTypeInfo) and the shape of key listings. Namespace listings come from the engine.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow_flight::sql::metadata::{
    SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{
    Nullable, Searchable, SqlInfo, SqlNullOrdering, SqlSupportedCaseSensitivity,
    SqlSupportedTransaction, XdbcDataType, XdbcDatetimeSubcode,
};

pub fn sql_info() -> SqlInfoData {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "Weir");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "59");
    b.append(SqlInfo::FlightSqlServerReadOnly, false);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    // Every statement commits on its own (one Delta commit each).
    b.append(
        SqlInfo::FlightSqlServerTransaction,
        SqlSupportedTransaction::None as i32,
    );
    b.append(SqlInfo::FlightSqlServerCancel, true);
    b.append(SqlInfo::FlightSqlServerBulkIngestion, true);
    b.append(SqlInfo::FlightSqlServerIngestTransactionsSupported, false);
    b.append(SqlInfo::FlightSqlServerStatementTimeout, 0i32);
    b.append(SqlInfo::FlightSqlServerTransactionTimeout, 0i32);
    b.append(SqlInfo::SqlDdlCatalog, true);
    b.append(SqlInfo::SqlDdlSchema, true);
    b.append(SqlInfo::SqlDdlTable, true);
    // Unquoted names are folded to lower case; quoted names keep their case.
    b.append(
        SqlInfo::SqlIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityLowercase as i32,
    );
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.append(
        SqlInfo::SqlQuotedIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(SqlInfo::SqlAllTablesAreSelectable, true);
    b.append(
        SqlInfo::SqlNullOrdering,
        SqlNullOrdering::SqlNullsSortedHigh as i32,
    );
    b.append(SqlInfo::SqlSearchStringEscape, "\\");
    b.append(SqlInfo::SqlSupportsColumnAliasing, true);
    b.append(SqlInfo::SqlNullPlusNullIsNull, true);
    b.append(SqlInfo::SqlSupportsTableCorrelationNames, true);
    b.append(SqlInfo::SqlSupportsExpressionsInOrderBy, true);
    b.append(SqlInfo::SqlSupportsLikeEscapeClause, true);
    b.append(SqlInfo::SqlSupportsNonNullableColumns, true);
    b.append(SqlInfo::SqlSchemaTerm, "schema");
    b.append(SqlInfo::SqlProcedureTerm, "procedure");
    b.append(SqlInfo::SqlCatalogTerm, "catalog");
    b.append(SqlInfo::SqlCatalogAtStart, true);
    b.append(SqlInfo::SqlSelectForUpdateSupported, false);
    b.append(SqlInfo::SqlStoredProceduresSupported, false);
    b.append(SqlInfo::SqlCorrelatedSubqueriesSupported, true);
    b.append(SqlInfo::SqlTransactionsSupported, false);
    b.append(SqlInfo::SqlBatchUpdatesSupported, true);
    b.append(SqlInfo::SqlSavepointsSupported, false);
    b.append(SqlInfo::SqlNamedParametersSupported, false);
    b.append(SqlInfo::SqlMaxColumnNameLength, 255i64);
    b.append(SqlInfo::SqlMaxTableNameLength, 255i64);
    b.append(SqlInfo::SqlDbSchemaNameLength, 255i64);
    b.append(SqlInfo::SqlMaxCatalogNameLength, 255i64);
    b.build()
        .expect("the fixed SqlInfo values form a valid batch")
}

fn type_info(
    name: &str,
    data_type: XdbcDataType,
    column_size: Option<i32>,
    quoted: bool,
    searchable: Searchable,
    subcode: Option<XdbcDatetimeSubcode>,
) -> XdbcTypeInfo {
    XdbcTypeInfo {
        type_name: name.to_string(),
        data_type,
        column_size,
        literal_prefix: quoted.then(|| "'".to_string()),
        literal_suffix: quoted.then(|| "'".to_string()),
        create_params: None,
        nullable: Nullable::NullabilityNullable,
        case_sensitive: quoted,
        searchable,
        unsigned_attribute: (!quoted).then_some(false),
        fixed_prec_scale: false,
        auto_increment: Some(false),
        local_type_name: Some(name.to_string()),
        minimum_scale: None,
        maximum_scale: None,
        sql_data_type: data_type,
        datetime_subcode: subcode,
        num_prec_radix: None,
        interval_precision: None,
    }
}

/// The SQL types of Weir's tables (Spark SQL names, as DESCRIBE shows them).
pub fn xdbc_type_info() -> XdbcTypeInfoData {
    use XdbcDataType as T;
    let full = Searchable::Full;
    let basic = Searchable::Basic;
    let mut b = XdbcTypeInfoDataBuilder::new();
    b.append(type_info(
        "boolean",
        T::XdbcBit,
        Some(1),
        false,
        basic,
        None,
    ));
    b.append(type_info(
        "tinyint",
        T::XdbcTinyint,
        Some(3),
        false,
        basic,
        None,
    ));
    b.append(type_info(
        "smallint",
        T::XdbcSmallint,
        Some(5),
        false,
        basic,
        None,
    ));
    b.append(type_info(
        "int",
        T::XdbcInteger,
        Some(10),
        false,
        basic,
        None,
    ));
    b.append(type_info(
        "bigint",
        T::XdbcBigint,
        Some(19),
        false,
        basic,
        None,
    ));
    b.append(type_info("float", T::XdbcReal, Some(7), false, basic, None));
    b.append(type_info(
        "double",
        T::XdbcDouble,
        Some(15),
        false,
        basic,
        None,
    ));
    let mut decimal = type_info("decimal", T::XdbcDecimal, Some(38), false, basic, None);
    decimal.create_params = Some(vec!["precision".into(), "scale".into()]);
    decimal.minimum_scale = Some(0);
    decimal.maximum_scale = Some(38);
    decimal.fixed_prec_scale = true;
    decimal.num_prec_radix = Some(10);
    b.append(decimal);
    b.append(type_info("string", T::XdbcVarchar, None, true, full, None));
    b.append(type_info(
        "binary",
        T::XdbcVarbinary,
        None,
        true,
        basic,
        None,
    ));
    b.append(type_info("date", T::XdbcDate, Some(10), true, basic, None));
    b.append(type_info(
        "timestamp",
        T::XdbcTimestamp,
        Some(32),
        true,
        basic,
        Some(XdbcDatetimeSubcode::XdbcSubcodeTimestampWithTimezone),
    ));
    b.append(type_info(
        "timestamp_ntz",
        T::XdbcTimestamp,
        Some(26),
        true,
        basic,
        Some(XdbcDatetimeSubcode::XdbcSubcodeTimestamp),
    ));
    b.build().expect("the fixed type list forms a valid batch")
}

/// The result shape of GetPrimaryKeys (Delta tables declare no enforced keys, so it is empty).
pub fn primary_keys_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_name", DataType::Utf8, true),
        Field::new("key_sequence", DataType::Int32, false),
    ]))
}

/// The schema with Flight SQL's column metadata (type name, precision, scale, comment), which
/// ADBC's `adbc_get_objects` and the JDBC driver turn into column descriptions.
pub fn with_column_metadata(schema: &Schema, details: &[(String, Option<String>)]) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut meta = std::collections::HashMap::new();
            if let Some((type_name, comment)) = details.get(i) {
                meta.insert("ARROW:FLIGHT:SQL:TYPE_NAME".to_string(), type_name.clone());
                if let Some(c) = comment {
                    meta.insert("ARROW:FLIGHT:SQL:REMARKS".to_string(), c.clone());
                }
            }
            if let DataType::Decimal128(p, s) = f.data_type() {
                meta.insert("ARROW:FLIGHT:SQL:PRECISION".to_string(), p.to_string());
                meta.insert("ARROW:FLIGHT:SQL:SCALE".to_string(), s.to_string());
            }
            f.as_ref().clone().with_metadata(meta)
        })
        .collect();
    Schema::new(fields)
}
