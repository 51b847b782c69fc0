//! Errors of the SQL export.

/// Why a query cannot be generated. Never a silently different query.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// A dialect leadscore does not generate.
    #[error("unknown SQL dialect `{0}`; use postgres, duckdb or spark")]
    UnknownDialect(String),
    /// Neither a model nor rules.
    #[error("nothing to export: give a model file, a rules file, or both")]
    NothingToExport,
    /// The model or rules read events but no events table was named.
    #[error("{0} reads behaviour events; name the events table with --events-table")]
    NeedsEvents(&'static str),
    /// A column mapping names a column the model and rules do not read.
    #[error(
        "--column {given}: `{given_column}` is not a column the model or rules read; they read {known}"
    )]
    UnknownMapping {
        /// The mapping as given.
        given: String,
        /// Its left-hand side.
        given_column: String,
        /// The columns read.
        known: String,
    },
    /// A malformed column mapping.
    #[error("--column {0}: expected NAME=WAREHOUSE_COLUMN")]
    BadMapping(String),
    /// Rules-only export without an as-of policy for closed leads is not supported.
    #[error(
        "a rules file alone has no outcome values to tell closed leads from open ones; export it with the model it is compared with, or score every lead at one time (--open-leads-only)"
    )]
    RulesNeedOutcome,
}
