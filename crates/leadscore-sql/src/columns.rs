//! The columns a query reads from the warehouse, their types, their names there, and the DDL.

use std::collections::BTreeMap;

use leadscore_artifact::ModelArtifact;
use leadscore_data::{ColumnKind, MissingTokens, TextRule};
use leadscore_points::PointsRules;

use crate::dialect::Dialect;
use crate::error::SqlError;

/// One column of the leads table the query reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InputColumn {
    /// Name in the model or rules.
    pub name: String,
    /// Numeric or text.
    pub kind: ColumnKind,
}

/// Everything about the leads and events tables the query needs.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    /// Whether the training export had no id column (its leads were numbered by row).
    pub numbered_by_row: bool,
    pub id: String,
    pub target: Option<String>,
    pub created_at: Option<String>,
    pub closed_at: Option<String>,
    pub positive: Vec<String>,
    pub negative: Vec<String>,
    pub missing: MissingTokens,
    pub text_rule: TextRule,
    /// Explicit columns, model columns first then rule-only fields.
    pub columns: Vec<InputColumn>,
    /// Columns of the training export the model does not use (for the DDL only).
    pub unused: Vec<String>,
    /// Model name → warehouse name.
    mapping: BTreeMap<String, String>,
}

impl Schema {
    pub fn new(
        model: Option<&ModelArtifact>,
        rules: Option<&PointsRules>,
        mapping: &[String],
        open_leads_only: bool,
    ) -> Result<Self, SqlError> {
        let defaults = leadscore_data::LeadsOptions::default();
        let mut schema = match model {
            Some(model) => {
                let s = model.schema();
                Self {
                    numbered_by_row: s.id_column.is_none(),
                    id: s.id_column.clone().unwrap_or_else(|| "lead_id".to_owned()),
                    target: (!open_leads_only).then(|| s.target.clone()),
                    created_at: s.created_at.clone(),
                    closed_at: s.closed_at.clone(),
                    positive: s.outcome_values.positive.clone(),
                    negative: s.outcome_values.negative.clone(),
                    missing: s.missing_values.clone(),
                    text_rule: model.features().text_rule,
                    columns: model
                        .features()
                        .columns
                        .iter()
                        .map(|c| InputColumn {
                            name: c.name.clone(),
                            kind: c.kind,
                        })
                        .collect(),
                    unused: s.excluded.iter().map(|(name, _)| name.clone()).collect(),
                    mapping: BTreeMap::new(),
                }
            }
            None if open_leads_only => Self {
                numbered_by_row: false,
                id: "lead_id".to_owned(),
                target: None,
                created_at: None,
                closed_at: None,
                positive: Vec::new(),
                negative: Vec::new(),
                missing: defaults.missing,
                text_rule: TextRule::default(),
                columns: Vec::new(),
                unused: Vec::new(),
                mapping: BTreeMap::new(),
            },
            None => return Err(SqlError::RulesNeedOutcome),
        };
        if let Some(rules) = rules {
            for (name, kind) in rules.fields() {
                if !schema.columns.iter().any(|c| c.name == name) {
                    schema.columns.push(InputColumn {
                        name,
                        kind: kind.unwrap_or(ColumnKind::Categorical),
                    });
                }
            }
        }
        schema
            .unused
            .retain(|u| !schema.columns.iter().any(|c| c.name == *u));
        for given in mapping {
            let (from, to) = given
                .split_once('=')
                .filter(|(a, b)| !a.trim().is_empty() && !b.trim().is_empty())
                .ok_or_else(|| SqlError::BadMapping(given.clone()))?;
            let (from, to) = (from.trim(), to.trim());
            if !schema.known().any(|k| k == from) {
                return Err(SqlError::UnknownMapping {
                    given: given.clone(),
                    given_column: from.to_owned(),
                    known: schema
                        .known()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            schema.mapping.insert(from.to_owned(), to.to_owned());
        }
        Ok(schema)
    }

    /// Every leads column the query reads, by its model name.
    fn known(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.target.as_deref())
            .chain(self.created_at.as_deref())
            .chain(self.closed_at.as_deref())
            .chain(self.columns.iter().map(|c| c.name.as_str()))
            .chain(["lead_id", "timestamp", "event_type", "value"])
    }

    /// The warehouse name of a column.
    pub fn warehouse<'a>(&'a self, name: &'a str) -> &'a str {
        self.mapping.get(name).map_or(name, String::as_str)
    }

    /// `CREATE TABLE` statements of the tables the query reads.
    pub fn ddl(&self, dialect: Dialect, leads_table: &str, events_table: Option<&str>) -> String {
        let column =
            |name: &str, kind: &str| format!("  {} {kind}", dialect.ident(self.warehouse(name)));
        let text = dialect.text_type();
        let mut lines = vec![column(&self.id, text)];
        if let Some(target) = &self.target {
            lines.push(column(target, text));
        }
        for date in [&self.created_at, &self.closed_at].into_iter().flatten() {
            lines.push(column(date, dialect.timestamp_type()));
        }
        for c in &self.columns {
            let kind = match c.kind {
                ColumnKind::Numeric => dialect.double_type(),
                ColumnKind::Categorical => text,
            };
            lines.push(column(&c.name, kind));
        }
        for unused in &self.unused {
            lines.push(column(unused, text));
        }
        let mut out = String::new();
        if self.numbered_by_row {
            out.push_str(&format!(
                "-- The training export had no id column, so `leadscore score` numbers its leads by row;\n\
                 -- fill {} with each lead's key (or pass --column lead_id=<key column>).\n",
                dialect.ident(self.warehouse(&self.id))
            ));
        }
        if !self.unused.is_empty() {
            let (names, verb) = (
                self.unused
                    .iter()
                    .map(|u| format!("`{u}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if self.unused.len() == 1 { "is" } else { "are" },
            );
            out.push_str(&format!(
                "-- {names} {verb} not read by the query; the table has them so that the training export loads whole.\n"
            ));
        }
        out.push_str(&format!(
            "CREATE TABLE {} (\n{}\n);\n",
            dialect.table(leads_table),
            lines.join(",\n")
        ));
        if let Some(events) = events_table {
            out.push_str(&format!(
                "CREATE TABLE {} (\n{},\n{},\n{},\n{}\n);\n",
                dialect.table(events),
                column("lead_id", text),
                column("timestamp", dialect.timestamp_type()),
                column("event_type", text),
                column("value", dialect.double_type()),
            ));
        }
        out
    }
}
