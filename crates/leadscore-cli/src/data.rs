//! Loading the data a command works on.

use anyhow::Result;
use leadscore_data::{EventLog, LeadsTable};

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
