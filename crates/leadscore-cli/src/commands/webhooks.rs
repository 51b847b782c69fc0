//! `leadscore webhooks status|requeue`: the threshold webhooks' outbox in a server's database.

use anyhow::Result;
use leadscore_data::time;
use leadscore_store::{Outbox, open_existing};

use crate::args::WebhooksDbArgs;
use crate::output::{print_json, table};

/// Prints the counts per state and the dead letters.
pub fn status(args: &WebhooksDbArgs) -> Result<()> {
    open_existing(&args.db)?;
    let status = Outbox::open(&args.db)?.status()?;
    if args.json {
        return print_json(&status);
    }
    println!(
        "{} pending · {} delivered · {} dead",
        status.pending, status.delivered, status.dead
    );
    if !status.dead_letters.is_empty() {
        let mut dead = table(["event", "webhook", "lead", "attempts", "last error"]);
        for letter in &status.dead_letters {
            dead.add_row(vec![
                letter.event_id.clone(),
                letter.webhook.clone(),
                letter.lead_id.clone(),
                letter.attempts.to_string(),
                letter.last_error.clone().unwrap_or_default(),
            ]);
        }
        println!("{dead}\n`leadscore webhooks requeue` puts them back in line.");
    }
    Ok(())
}

/// Requeues every dead letter.
pub fn requeue(args: &WebhooksDbArgs) -> Result<()> {
    open_existing(&args.db)?;
    let requeued = Outbox::open(&args.db)?.requeue_dead(time::now_millis())?;
    if args.json {
        return print_json(&serde_json::json!({ "requeued": requeued }));
    }
    println!("{requeued} dead-lettered events requeued; a running server delivers them again");
    Ok(())
}
