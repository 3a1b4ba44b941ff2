//! Spark's generators as relations: each input row joined with the rows its generator makes
//! (`LATERAL VIEW`, a SELECT-list generator), or the generator's rows alone (`FROM
//! explode(...)`). A generator becomes arrays computed per input row, unnested side by side
//! (DataFusion's `Unnest` zips them, padding the shorter with NULL):
//! - `explode(array)` → `col`; `explode(map)` → `key`, `value`;
//! - `posexplode(...)` → `pos` (INT, from 0) and the same;
//! - `inline(array<struct>)` → one column per field;
//! - `stack(n, e1, ..., ek)` → `col0` ... over n rows, missing values NULL.
//!
//! The outer forms keep an input row whose array is NULL or empty, with NULLs
//! (https://spark.apache.org/docs/latest/sql-ref-syntax-qry-select-lateral-view.html).

use arrow::datatypes::DataType;
use datafusion::common::UnnestOptions;
use datafusion::common::{Column, DFSchema, ScalarValue, TableReference};
use datafusion::error::Result;
use datafusion::functions_nested::expr_fn::{cardinality, make_array, map_keys, map_values, range};
use datafusion::logical_expr::expr_schema::ExprSchemable;
use datafusion::logical_expr::planner::RelationPlannerContext;
use datafusion::logical_expr::utils::find_aggregate_exprs;
use datafusion::logical_expr::{cast, lit, when, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::{self, FunctionArg, TableFactor};

use super::{engine, unnamed};
use crate::error::EngineError;

/// The relation `weir_lateral_view(source, 'generator', outer, args...) AS name(columns)`
/// (see `crate::parser::generators`).
pub(super) fn plan_lateral_view(
    args: Vec<FunctionArg>,
    alias: Option<ast::TableAlias>,
    context: &mut dyn RelationPlannerContext,
) -> Result<LogicalPlan> {
    let mut args = unnamed(args)?.into_iter();
    let (Some(source), Some(generator), Some(outer)) = (args.next(), args.next(), args.next())
    else {
        return Err(engine(EngineError::Internal(
            "a lateral view relation without its source, generator and outer flag".into(),
        )));
    };
    let input = match source {
        ast::Expr::Subquery(query) => context.plan(TableFactor::Derived {
            lateral: false,
            subquery: query,
            alias: None,
            sample: None,
        })?,
        _ => LogicalPlanBuilder::empty(true).build()?,
    };
    let generator = match generator {
        ast::Expr::Value(v) => match v.value {
            ast::Value::SingleQuotedString(s) => s,
            other => return Err(marker_error(other)),
        },
        other => return Err(marker_error(other)),
    };
    let outer = matches!(&outer, ast::Expr::Value(v) if v.value == ast::Value::Boolean(true));
    generate(input, &generator, outer, args.collect(), alias, context)
}

fn marker_error(found: impl std::fmt::Display) -> datafusion::error::DataFusionError {
    engine(EngineError::Internal(format!(
        "a lateral view relation names its generator as a string, found {found}"
    )))
}

/// `FROM explode(...) [AS name(columns)]`: the generator's rows alone.
pub(super) fn plan_table_generator(
    generator: &str,
    outer: bool,
    args: Vec<ast::Expr>,
    alias: Option<ast::TableAlias>,
    context: &mut dyn RelationPlannerContext,
) -> Result<LogicalPlan> {
    let input = LogicalPlanBuilder::empty(true).build()?;
    generate(input, generator, outer, args, alias, context)
}

/// One output column of a generator: which generated array it comes from, and how.
struct Output {
    name: String,
    array: usize,
    field: Option<String>,
    cast: Option<DataType>,
}

impl Output {
    fn plain(name: &str, array: usize) -> Self {
        Self {
            name: name.to_string(),
            array,
            field: None,
            cast: None,
        }
    }
}

fn generated_name(i: usize) -> String {
    format!("__weir_generated_{i}")
}

/// `input` with each row joined to the rows `generator(args)` makes of it.
fn generate(
    input: LogicalPlan,
    generator: &str,
    outer: bool,
    args: Vec<ast::Expr>,
    alias: Option<ast::TableAlias>,
    context: &mut dyn RelationPlannerContext,
) -> Result<LogicalPlan> {
    let schema = input.schema().clone();
    let args = args
        .into_iter()
        .map(|a| context.sql_to_expr(a, &schema))
        .collect::<Result<Vec<_>>>()?;
    if !find_aggregate_exprs(args.iter()).is_empty() {
        return Err(engine(EngineError::not_supported(format!(
            "{generator} over an aggregate: generate from a subquery's result instead, e.g. \
             SELECT {generator}(a) FROM (SELECT collect_list(x) AS a FROM t)"
        ))));
    }
    let (arrays, mut outputs) = arrays_of(generator, args, &schema)?;
    let (qualifier, columns) = match alias {
        Some(alias) => (
            Some(TableReference::bare(context.normalize_ident(alias.name))),
            alias
                .columns
                .into_iter()
                .map(|c| context.normalize_ident(c.name))
                .collect::<Vec<_>>(),
        ),
        None => (None, vec![]),
    };
    if !columns.is_empty() {
        if columns.len() != outputs.len() {
            return Err(engine(EngineError::Coded {
                sqlstate: "42802",
                message: format!(
                    "{generator} makes {} column(s) but {} name(s) were given",
                    outputs.len(),
                    columns.len()
                ),
            }));
        }
        for (output, name) in outputs.iter_mut().zip(columns) {
            output.name = name;
        }
    }
    let passed: Vec<Expr> = schema.columns().into_iter().map(Expr::Column).collect();
    let mut projection = passed.clone();
    for (i, array) in arrays.into_iter().enumerate() {
        let array = if outer {
            // An empty array keeps its row as a NULL one (with preserve_nulls below).
            when(
                cardinality(array.clone()).eq(lit(0u64)),
                lit(ScalarValue::Null),
            )
            .otherwise(array)?
        } else {
            array
        };
        projection.push(array.alias(generated_name(i)));
    }
    let unnested: Vec<Column> = (0..projection.len() - passed.len())
        .map(|i| Column::from_name(generated_name(i)))
        .collect();
    let mut result = passed;
    for output in outputs {
        let mut e = Expr::Column(Column::from_name(generated_name(output.array)));
        if let Some(field) = output.field {
            e = datafusion::functions::core::expr_fn::get_field(e, field);
        }
        if let Some(t) = output.cast {
            e = cast(e, t);
        }
        result.push(e.alias_qualified(qualifier.clone(), output.name));
    }
    LogicalPlanBuilder::from(input)
        .project(projection)?
        .unnest_columns_with_options(unnested, UnnestOptions::new().with_preserve_nulls(outer))?
        .project(result)?
        .build()
}

/// The arrays a generator unnests and the columns it makes of them.
fn arrays_of(
    generator: &str,
    args: Vec<Expr>,
    schema: &DFSchema,
) -> Result<(Vec<Expr>, Vec<Output>)> {
    let wrong_args = |expected: &str| {
        engine(EngineError::Coded {
            sqlstate: "42883",
            message: format!("{generator} takes {expected}"),
        })
    };
    if generator == "stack" {
        return stack(args).map_err(|_| wrong_args("a row count n > 0 and values"));
    }
    let [arg] = <[Expr; 1]>::try_from(args).map_err(|_| wrong_args("one argument"))?;
    let data_type = arg.get_type(schema)?;
    let positions = |e: &Expr| {
        range(
            lit(0i64),
            cast(cardinality(e.clone()), DataType::Int64),
            lit(1i64),
        )
    };
    let position = |array| Output {
        cast: Some(DataType::Int32),
        ..Output::plain("pos", array)
    };
    match (generator, &data_type) {
        ("explode", t) if is_list(t) => Ok((vec![arg], vec![Output::plain("col", 0)])),
        ("explode", DataType::Map(..)) => Ok((
            vec![map_keys(arg.clone()), map_values(arg)],
            vec![Output::plain("key", 0), Output::plain("value", 1)],
        )),
        ("posexplode", t) if is_list(t) => Ok((
            vec![positions(&arg), arg],
            vec![position(0), Output::plain("col", 1)],
        )),
        ("posexplode", DataType::Map(..)) => Ok((
            vec![positions(&arg), map_keys(arg.clone()), map_values(arg)],
            vec![
                position(0),
                Output::plain("key", 1),
                Output::plain("value", 2),
            ],
        )),
        ("inline", t) if matches!(element_type(t), Some(DataType::Struct(_))) => {
            let Some(DataType::Struct(fields)) = element_type(t) else {
                return Err(wrong_args("an array of structs"));
            };
            let outputs = fields
                .iter()
                .map(|f| Output {
                    field: Some(f.name().clone()),
                    ..Output::plain(f.name(), 0)
                })
                .collect();
            Ok((vec![arg], outputs))
        }
        ("inline", t) | ("explode" | "posexplode", t) => Err(engine(EngineError::Coded {
            sqlstate: "42804",
            message: format!(
                "{generator} takes {}, found {t}",
                if generator == "inline" {
                    "an array of structs"
                } else {
                    "an array or a map"
                }
            ),
        })),
        _ => Err(wrong_args("a known generator")),
    }
}

fn is_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
    )
}

fn element_type(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

/// `stack(n, e1, ..., ek)`: n rows of ceil(k / n) columns, row r column c = e[r * cols + c].
fn stack(args: Vec<Expr>) -> std::result::Result<(Vec<Expr>, Vec<Output>), ()> {
    let mut args = args.into_iter();
    let rows = match args.next() {
        Some(Expr::Literal(v, _)) => match v {
            ScalarValue::Int64(Some(n)) => n,
            ScalarValue::Int32(Some(n)) => n.into(),
            _ => return Err(()),
        },
        _ => return Err(()),
    };
    let values: Vec<Expr> = args.collect();
    let rows = usize::try_from(rows).map_err(|_| ())?;
    if rows == 0 || values.is_empty() {
        return Err(());
    }
    let columns = values.len().div_ceil(rows);
    let arrays = (0..columns)
        .map(|c| {
            make_array(
                (0..rows)
                    .map(|r| {
                        values
                            .get(r * columns + c)
                            .cloned()
                            .unwrap_or(lit(ScalarValue::Null))
                    })
                    .collect(),
            )
        })
        .collect();
    let outputs = (0..columns)
        .map(|c| Output::plain(&format!("col{c}"), c))
        .collect();
    Ok((arrays, outputs))
}
