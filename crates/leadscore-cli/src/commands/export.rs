//! `leadscore export sql`: the model and rules as one query for the warehouse.

use anyhow::{Context, Result};
use leadscore_artifact::ModelArtifact;
use leadscore_data::write_bytes_atomically;
use leadscore_points::PointsRules;
use leadscore_sql::{Dialect, ExportOptions, ScoringTime, ddl, export};

use crate::args::{ExportSqlArgs, parse_time};

/// Writes the scoring query (or the DDL of its tables).
pub fn sql(args: &ExportSqlArgs) -> Result<()> {
    let model = args.model.as_deref().map(ModelArtifact::load).transpose()?;
    let rules = args.rules.as_deref().map(PointsRules::load).transpose()?;
    let options = ExportOptions {
        dialect: args.dialect.parse::<Dialect>()?,
        leads_table: args.leads_table.clone(),
        events_table: args
            .events_table
            .clone()
            .or_else(|| Some("events".to_owned())),
        scoring_time: match (&args.as_of, &args.as_of_column) {
            (Some(time), _) => ScoringTime::At(parse_time(time).map_err(anyhow::Error::msg)?),
            (None, Some(column)) => ScoringTime::Column(column.clone()),
            (None, None) => ScoringTime::Now,
        },
        columns: args.columns.clone(),
        reasons: args.reasons,
        open_leads_only: args.open_leads_only,
    };
    let text = if args.ddl {
        ddl(model.as_ref(), rules.as_ref(), &options)?
    } else {
        export(model.as_ref(), rules.as_ref(), &options)?
    };
    match &args.out {
        Some(path) => write_bytes_atomically(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => print_to_stdout(&text)?,
    }
    Ok(())
}

/// Prints to stdout; a reader that stops early (`| head`) ends the command quietly.
fn print_to_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}
