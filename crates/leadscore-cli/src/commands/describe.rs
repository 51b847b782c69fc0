//! `leadscore describe`: the first look at a new export.

use anyhow::Result;
use leadscore_data::{ColumnRole, Description, Severity};

use crate::args::DescribeArgs;
use crate::config::LoadedConfig;
use crate::data;
use crate::output::{percent, print_json, table};

/// Loads the data and prints its description.
pub fn run(args: &DescribeArgs) -> Result<()> {
    let config = LoadedConfig::load(args.data.config.as_deref())?;
    let selection = args.data.resolve(&config)?;
    let loaded = data::load(&selection)?;
    let description = Description::new(&loaded.leads, loaded.events.as_ref());
    if args.json {
        return print_json(&description);
    }
    print_description(&description);
    Ok(())
}

fn print_description(d: &Description) {
    println!(
        "{}: {} leads, id {}, outcome `{}`",
        d.file, d.rows, d.id_column, d.target
    );
    let b = &d.balance;
    println!(
        "won {} · lost {} · open {} · positive rate {} of closed leads (won = {}; lost = {})",
        b.won,
        b.lost,
        b.open,
        percent(b.positive_rate),
        d.positive_values.join(", "),
        d.negative_values.join(", ")
    );
    if let Some((first, last)) = &d.created_range {
        println!("created {first} … {last}");
    }
    if let Some((first, last)) = &d.closed_range {
        println!("closed  {first} … {last}");
    }
    let mut schema = table(["column", "role", "type", "missing", "distinct", "summary"]);
    for c in &d.columns {
        let kind = match (c.kind, c.kind_source) {
            (Some(kind), Some(leadscore_data::KindSource::Override)) => format!("{kind} (set)"),
            (Some(kind), _) => kind.to_string(),
            (None, _) => String::new(),
        };
        let role = match c.role {
            ColumnRole::Id => "id",
            ColumnRole::Target => "outcome",
            ColumnRole::Date => "date",
            ColumnRole::Feature => "feature",
            ColumnRole::Excluded => "excluded",
        };
        let missing = if c.role == ColumnRole::Excluded || c.role == ColumnRole::Target {
            String::new()
        } else {
            percent(c.missing_share)
        };
        schema.add_row(vec![
            c.name.clone(),
            role.to_owned(),
            kind,
            missing,
            c.distinct.map(|n| n.to_string()).unwrap_or_default(),
            c.summary.clone(),
        ]);
    }
    println!("{schema}");
    if let Some(events) = &d.events {
        let range = events
            .date_range
            .as_ref()
            .map(|(a, b)| format!(", {a} … {b}"))
            .unwrap_or_default();
        println!(
            "events: {} rows, {} joined to {} leads{range}",
            events.stats.rows, events.stats.kept, events.stats.leads_with_events
        );
        let mut types = table(["event type", "events"]);
        for (name, count) in &events.types {
            types.add_row(vec![name.clone(), count.to_string()]);
        }
        println!("{types}");
    }
    for notice in &d.notices {
        let tag = match notice.severity {
            Severity::Info => "note",
            Severity::Warning => "warning",
        };
        println!("{tag}: {}", notice.message);
    }
}
