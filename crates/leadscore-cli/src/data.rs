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
