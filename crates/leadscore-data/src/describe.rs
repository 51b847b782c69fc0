//! A summary of a loaded data set: schema, class balance, missingness and warnings.

use serde::Serialize;

use crate::events::{EventLog, EventStats};
use crate::leads::{ColumnValues, KindSource, LeadsTable, MISSING_CODE, Notice, Outcome, Severity};
use crate::table::format_number;
use crate::time::format_date;
use crate::value::ColumnKind;

/// What a column is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnRole {
    /// Lead id.
    Id,
    /// Outcome (won/lost/open).
    Target,
    /// Creation or close date.
    Date,
    /// Explicit feature.
    Feature,
    /// Present but not used.
    Excluded,
}

/// One line of the schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSummary {
    /// Column name.
    pub name: String,
    /// What it is used for.
    pub role: ColumnRole,
    /// Numeric or categorical, for features.
    pub kind: Option<ColumnKind>,
    /// Whether the kind was inferred or overridden, for features.
    pub kind_source: Option<KindSource>,
    /// Missing cells.
    pub missing: usize,
    /// Missing share of rows.
    pub missing_share: f64,
    /// Distinct non-missing values.
    pub distinct: Option<usize>,
    /// Range or most frequent levels; for excluded columns, the reason.
    pub summary: String,
}

/// Counts of won, lost and open leads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassBalance {
    /// Won leads.
    pub won: usize,
    /// Lost leads.
    pub lost: usize,
    /// Open leads (scored, never trained on).
    pub open: usize,
    /// Won share of closed leads.
    pub positive_rate: f64,
}

/// Summary of the events table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventsSummary {
    /// Loading statistics.
    #[serde(flatten)]
    pub stats: EventStats,
    /// Events per type, most frequent first.
    pub types: Vec<(String, usize)>,
    /// First and last event date.
    pub date_range: Option<(String, String)>,
}

/// Everything `leadscore describe` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Description {
    /// Leads file.
    pub file: String,
    /// Number of leads.
    pub rows: usize,
    /// Id column, or "(row number)".
    pub id_column: String,
    /// Outcome column.
    pub target: String,
    /// Values read as won.
    pub positive_values: Vec<String>,
    /// Values read as lost.
    pub negative_values: Vec<String>,
    /// Won / lost / open.
    pub balance: ClassBalance,
    /// First and last creation date.
    pub created_range: Option<(String, String)>,
    /// First and last close date.
    pub closed_range: Option<(String, String)>,
    /// One entry per column of the file.
    pub columns: Vec<ColumnSummary>,
    /// Events summary, when an events file was given.
    pub events: Option<EventsSummary>,
    /// Everything worth a second look.
    pub notices: Vec<Notice>,
}

impl Description {
    /// Summarises a leads table and, optionally, its events.
    pub fn new(leads: &LeadsTable, events: Option<&EventLog>) -> Self {
        let rows = leads.len();
        let balance = ClassBalance {
            won: leads.count(Outcome::Won),
            lost: leads.count(Outcome::Lost),
            open: leads.count(Outcome::Open),
            positive_rate: leads.positive_rate(),
        };
        let mut columns = Vec::new();
        let share = |n: usize| {
            if rows == 0 {
                0.0
            } else {
                n as f64 / rows as f64
            }
        };
        if let Some(id) = &leads.id_column {
            columns.push(ColumnSummary {
                name: id.clone(),
                role: ColumnRole::Id,
                kind: None,
                kind_source: None,
                missing: 0,
                missing_share: 0.0,
                distinct: Some(rows),
                summary: "unique".to_owned(),
            });
        }
        columns.push(ColumnSummary {
            name: leads.target.clone(),
            role: ColumnRole::Target,
            kind: None,
            kind_source: None,
            missing: balance.open,
            missing_share: share(balance.open),
            distinct: None,
            summary: format!(
                "won = {}; lost = {}",
                leads.outcome_values.positive.join(", "),
                leads.outcome_values.negative.join(", ")
            ),
        });
        for (name, times) in [
            ("created_at", &leads.created_at),
            ("closed_at", &leads.closed_at),
        ] {
            if let Some(times) = times {
                let missing = times.iter().filter(|t| t.is_none()).count();
                columns.push(ColumnSummary {
                    name: name.to_owned(),
                    role: ColumnRole::Date,
                    kind: None,
                    kind_source: None,
                    missing,
                    missing_share: share(missing),
                    distinct: None,
                    summary: date_range(times)
                        .map(|(a, b)| format!("{a} … {b}"))
                        .unwrap_or_default(),
                });
            }
        }
        for column in &leads.columns {
            let missing = column.missing_count();
            let (distinct, summary) = match &column.values {
                ColumnValues::Numeric(values) => numeric_summary(values),
                ColumnValues::Categorical { codes, levels } => categorical_summary(codes, levels),
            };
            columns.push(ColumnSummary {
                name: column.name.clone(),
                role: ColumnRole::Feature,
                kind: Some(column.kind()),
                kind_source: Some(column.kind_source),
                missing,
                missing_share: share(missing),
                distinct: Some(distinct),
                summary,
            });
        }
        for excluded in &leads.excluded {
            columns.push(ColumnSummary {
                name: excluded.name.clone(),
                role: ColumnRole::Excluded,
                kind: None,
                kind_source: None,
                missing: 0,
                missing_share: 0.0,
                distinct: None,
                summary: excluded.reason.clone(),
            });
        }
        let mut notices = leads.notices.clone();
        if balance.won == 0 || balance.lost == 0 {
            notices.push(Notice {
                severity: Severity::Warning,
                message: format!(
                    "closed leads are all of one class ({} won, {} lost): a model cannot be trained on this file",
                    balance.won, balance.lost
                ),
            });
        }
        let events = events.map(|log| {
            let stats = &log.stats;
            if stats.unknown_lead_rows > 0 {
                notices.push(Notice {
                    severity: Severity::Warning,
                    message: format!(
                        "{} of {} event rows name lead ids not in the leads file (e.g. {}); they are ignored",
                        stats.unknown_lead_rows,
                        stats.rows,
                        stats.unknown_lead_examples.join(", ")
                    ),
                });
            }
            if stats.duplicate_rows > 0 {
                notices.push(Notice {
                    severity: Severity::Info,
                    message: format!(
                        "{} event rows repeat another row's lead, type and timestamp; each is counted once",
                        stats.duplicate_rows
                    ),
                });
            }
            let mut types: Vec<(String, usize)> = log.types.iter().cloned().zip(log.type_counts.iter().copied()).collect();
            types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            EventsSummary {
                stats: stats.clone(),
                types,
                date_range: stats.first.zip(stats.last).map(|(a, b)| (format_date(a), format_date(b))),
            }
        });
        Self {
            file: leads.path.display().to_string(),
            rows,
            id_column: leads
                .id_column
                .clone()
                .unwrap_or_else(|| "(row number)".to_owned()),
            target: leads.target.clone(),
            positive_values: leads.outcome_values.positive.clone(),
            negative_values: leads.outcome_values.negative.clone(),
            balance,
            created_range: leads.created_at.as_deref().and_then(date_range),
            closed_range: leads.closed_at.as_deref().and_then(date_range),
            columns,
            events,
            notices,
        }
    }
}

fn date_range(times: &[Option<i64>]) -> Option<(String, String)> {
    let present = times.iter().flatten();
    let first = present.clone().min()?;
    let last = present.max()?;
    Some((format_date(*first), format_date(*last)))
}

fn numeric_summary(values: &[f64]) -> (usize, String) {
    let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    present.sort_by(f64::total_cmp);
    let mut distinct = present.clone();
    distinct.dedup();
    let Some((&min, &max)) = present.first().zip(present.last()) else {
        return (0, String::new());
    };
    let median = present[present.len() / 2];
    let mean = present.iter().sum::<f64>() / present.len() as f64;
    let short = |v: f64| {
        if v.fract() == 0.0 || v.abs() >= 1000.0 {
            format_number(v.round())
        } else {
            format!("{v:.3}")
        }
    };
    (
        distinct.len(),
        format!(
            "min {} · median {} · mean {} · max {}",
            short(min),
            short(median),
            short(mean),
            short(max)
        ),
    )
}

fn categorical_summary(codes: &[u32], levels: &[String]) -> (usize, String) {
    let mut counts = vec![0usize; levels.len()];
    let mut present = 0usize;
    for &code in codes {
        if code != MISSING_CODE {
            counts[code as usize] += 1;
            present += 1;
        }
    }
    let mut order: Vec<usize> = (0..levels.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]));
    let top: Vec<String> = order
        .iter()
        .take(3)
        .map(|&i| {
            let share = 100.0 * counts[i] as f64 / present.max(1) as f64;
            if share < 0.5 {
                format!("{} <1%", levels[i])
            } else {
                format!("{} {share:.0}%", levels[i])
            }
        })
        .collect();
    let more = if levels.len() > 3 { ", …" } else { "" };
    (levels.len(), format!("{}{more}", top.join(", ")))
}
