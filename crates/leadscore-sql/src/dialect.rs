//! What differs between the engines: quoting, literals, time, rounding, string aggregation.

use std::fmt;
use std::str::FromStr;

/// A SQL engine the export targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL 12 or newer.
    Postgres,
    /// DuckDB 0.10 or newer.
    DuckDb,
    /// Spark SQL 3.x.
    Spark,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Postgres => "postgres",
            Self::DuckDb => "duckdb",
            Self::Spark => "spark",
        })
    }
}

impl FromStr for Dialect {
    type Err = crate::SqlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Self::Postgres),
            "duckdb" => Ok(Self::DuckDb),
            "spark" | "sparksql" | "spark-sql" | "databricks" => Ok(Self::Spark),
            other => Err(crate::SqlError::UnknownDialect(other.to_owned())),
        }
    }
}

impl Dialect {
    /// A quoted identifier (a column or one part of a table name).
    pub fn ident(self, name: &str) -> String {
        match self {
            Self::Spark => format!("`{}`", name.replace('`', "``")),
            Self::Postgres | Self::DuckDb => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A qualified table name (`schema.table`), each part quoted.
    pub fn table(self, name: &str) -> String {
        name.split('.')
            .map(|part| self.ident(part))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// A string literal; quotes (and, in Spark, backslashes) escaped.
    pub fn text(self, value: &str) -> String {
        match self {
            Self::Spark => format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'")),
            Self::Postgres | Self::DuckDb => format!("'{}'", value.replace('\'', "''")),
        }
    }

    /// A double literal that reads back as exactly `value` (Rust prints the shortest decimal that
    /// round-trips; every engine parses it correctly rounded), typed double so no engine computes
    /// with it in exact decimal arithmetic.
    pub fn number(self, value: f64) -> String {
        let digits = format!("{value:?}");
        match self {
            Self::Postgres => format!("{digits}::float8"),
            Self::DuckDb => format!("{digits}::DOUBLE"),
            Self::Spark => format!("{digits}D"),
        }
    }

    /// The double type.
    pub fn double_type(self) -> &'static str {
        match self {
            Self::Postgres => "DOUBLE PRECISION",
            Self::DuckDb | Self::Spark => "DOUBLE",
        }
    }

    /// The text type.
    pub fn text_type(self) -> &'static str {
        match self {
            Self::Postgres => "TEXT",
            Self::DuckDb => "VARCHAR",
            Self::Spark => "STRING",
        }
    }

    /// The timestamp type (an instant; offsets in loaded text are honoured).
    pub fn timestamp_type(self) -> &'static str {
        match self {
            Self::Postgres => "TIMESTAMP WITH TIME ZONE",
            Self::DuckDb => "TIMESTAMPTZ",
            Self::Spark => "TIMESTAMP",
        }
    }

    /// Whole seconds since the Unix epoch of a timestamp expression (fractions dropped, as
    /// leadscore reads timestamps).
    pub fn epoch(self, timestamp: &str) -> String {
        match self {
            Self::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {timestamp})) AS BIGINT)"),
            Self::DuckDb => format!("CAST(FLOOR(epoch_ms({timestamp}) / 1000.0) AS BIGINT)"),
            Self::Spark => format!("CAST({timestamp} AS BIGINT)"),
        }
    }

    /// Whole seconds since the epoch, now.
    pub fn now_epoch(self) -> String {
        match self {
            Self::Spark => "unix_timestamp()".to_owned(),
            Self::Postgres | Self::DuckDb => self.epoch("CURRENT_TIMESTAMP"),
        }
    }

    /// How a CTE whose columns are referenced many times is introduced: computed once
    /// (`AS MATERIALIZED`), so that the planner does not paste a tree sum into each of the
    /// thousand references of a percentile search. Spark's optimizer keeps such projections.
    pub fn materialized(self) -> &'static str {
        match self {
            Self::Postgres | Self::DuckDb => "AS MATERIALIZED",
            Self::Spark => "AS",
        }
    }

    /// A value cast to double.
    pub fn to_double(self, expression: &str) -> String {
        format!("CAST({expression} AS {})", self.double_type())
    }

    /// A value cast to text.
    pub fn to_text(self, expression: &str) -> String {
        format!("CAST({expression} AS {})", self.text_type())
    }

    /// Rounds half to even, as Rust's `{:.0}` formats.
    pub fn round_half_even(self, expression: &str) -> String {
        match self {
            // PostgreSQL rounds double precision with rint(): half to even.
            Self::Postgres => format!("ROUND(CAST({expression} AS DOUBLE PRECISION))"),
            Self::DuckDb => format!("round_even({expression}, 0)"),
            Self::Spark => format!("bround({expression}, 0)"),
        }
    }

    /// `value` with two decimals and no sign (`0.80`).
    pub fn two_decimals(self, expression: &str) -> String {
        match self {
            Self::Postgres => format!("to_char({expression}, 'FM999999999990.00')"),
            Self::DuckDb => format!("printf('%.2f', {expression})"),
            Self::Spark => format!("format_string('%.2f', {expression})"),
        }
    }

    /// The texts of a group joined with `; `, ordered by `key` ascending.
    pub fn ordered_join(self, text: &str, key: &str) -> String {
        match self {
            Self::Postgres | Self::DuckDb => {
                format!("COALESCE(STRING_AGG({text}, '; ' ORDER BY {key}), '')")
            }
            Self::Spark => format!(
                "concat_ws('; ', transform(array_sort(collect_list(struct({key} AS k, {text} AS t))), x -> x.t))"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_texts_cannot_break_out() {
        assert_eq!(Dialect::Postgres.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Spark.ident("a`b"), "`a``b`");
        assert_eq!(Dialect::Postgres.text("it's"), "'it''s'");
        assert_eq!(Dialect::Spark.text("it's \\"), "'it\\'s \\\\'");
        assert_eq!(Dialect::DuckDb.table("crm.leads"), "\"crm\".\"leads\"");
    }

    #[test]
    fn numbers_round_trip() {
        for value in [0.1, 1.0 / 3.0, -2.5e-300, 1e300, 25_000_000.0] {
            let printed = Dialect::Postgres.number(value);
            let digits = printed.trim_end_matches("::float8");
            assert_eq!(digits.parse::<f64>().expect("number"), value, "{printed}");
        }
        assert!("sybase".parse::<Dialect>().is_err());
    }
}
