//! Loading the data a command works on.

use anyhow::Result;
use leadscore_artifact::ModelArtifact;
use leadscore_data::{EventLog, LeadsTable};
use leadscore_points::PointsRules;
use leadscore_score::{check_rules_against, scoring_leads_options};

use crate::config::DataSelection;
use crate::output::spinner;

/// A leads table and, when given, its events.
pub struct LoadedData {
    /// Leads.
    pub leads: LeadsTable,
    /// Events joined to the leads.
    pub events: Option<EventLog>,
}

/// Loads leads and events with a spinner.
pub fn load(selection: &DataSelection) -> Result<LoadedData> {
    let bar = spinner(format!("reading {}", selection.leads.display()));
    let leads = LeadsTable::load(&selection.leads, &selection.leads_options)?;
    let events = match &selection.events {
        Some(path) => {
            bar.set_message(format!("reading {}", path.display()));
            Some(EventLog::load(path, &selection.events_options, &leads)?)
        }
        None => None,
    };
    bar.finish_and_clear();
    Ok(LoadedData { leads, events })
}

/// Days between the data's last event and the scoring time beyond which open leads are warned
/// about.
const STALE_DAYS: i64 = 30;

/// A warning when open leads are scored long after the data ends: their recent-activity features
/// are all empty at that time, so they score as if they had gone cold — rarely what was meant
/// when scoring an old export.
pub fn stale_scoring_time(loaded: &LoadedData, scoring_time: i64) -> Option<String> {
    let open = loaded.leads.count(leadscore_data::Outcome::Open);
    let latest = EventLog::latest_time(&loaded.leads, loaded.events.as_ref())?;
    let days = (scoring_time - latest) / leadscore_data::time::SECONDS_PER_DAY;
    (open > 0 && days > STALE_DAYS).then(|| {
        let latest = leadscore_data::time::format_date(latest);
        format!(
            "{open} open leads are scored at {}, {days} days after the data's last event or date ({latest}): their recent activity counts are empty then, so they score as gone cold; pass --as-of {latest} to score them as of the export",
            leadscore_data::time::format_date(scoring_time)
        )
    })
}

/// Loads a file to be scored under the schema of the model and rules that score it
/// ([`scoring_leads_options`]), then checks the rules against what was read.
pub fn load_for_scoring(
    selection: &DataSelection,
    model: Option<&ModelArtifact>,
    rules: Option<&PointsRules>,
) -> Result<LoadedData> {
    let mut selection = selection.clone();
    selection.leads_options = scoring_leads_options(&selection.leads_options, model, rules);
    let loaded = load(&selection)?;
    if let Some(rules) = rules {
        for warning in check_rules_against(rules, &loaded.leads, loaded.events.as_ref())? {
            eprintln!("warning: {warning}");
        }
    }
    Ok(loaded)
}
