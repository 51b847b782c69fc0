//! Errors of feature construction.

/// What can go wrong building features.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// A feature parameter is out of range.
    #[error("invalid feature parameter `{name}` = {value}: {reason}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// Value given.
        value: String,
        /// Accepted range.
        reason: &'static str,
    },
    /// A lead's attribute cannot be read with the schema's type.
    #[error("field `{field}`: {message}")]
    InvalidField {
        /// Attribute or event field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The table handed to a fitted pipeline lacks a column it was trained with.
    #[error("column `{column}` used by the model is missing from {source_name}")]
    MissingColumn {
        /// The column.
        column: String,
        /// The table or request.
        source_name: String,
    },
    /// A column has another type than at training time.
    #[error(
        "column `{column}` was {expected} at training time but is {found} in {source_name}; pass --{expected} {column}"
    )]
    KindMismatch {
        /// The column.
        column: String,
        /// Kind at training time.
        expected: String,
        /// Kind now.
        found: String,
        /// The table.
        source_name: String,
    },
}
