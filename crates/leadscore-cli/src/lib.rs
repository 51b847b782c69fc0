//! The `leadscore` command line: arguments, settings file and one module per subcommand.
//!
//! The binary only parses arguments into [`Cli`] and calls [`run`]; everything a command does is
//! here, on top of the library crates, so commands can be tested without a process.

mod args;
mod commands;
mod config;
mod data;
mod output;

pub use args::{
    Cli, Command, DataArgs, ExperimentCommand, ExportCommand, ModelsCommand, OutcomesCommand,
    PointsCommand, WebhooksCommand,
};
pub use config::{DEFAULT_CONFIG, LoadedConfig};

/// An error and its causes on one line, each cause once: library errors already name their
/// cause in their message, and repeating it ("No such file or directory: No such file or
/// directory") only hides what to fix.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Generate(args) => commands::generate::run(&args),
        Command::Describe(args) => commands::describe::run(&args),
        Command::Train(args) => commands::train::run(&args),
        Command::Evaluate(args) => commands::evaluate::run(&args),
        Command::Score(args) => commands::score::run(&args),
        Command::Features(args) => commands::features::run(&args),
        Command::Compare(args) => commands::compare::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Outcomes(OutcomesCommand::Import(args)) => commands::experiment::import(&args),
        Command::Experiment(ExperimentCommand::Report(args)) => commands::experiment::report(&args),
        Command::Scorecard(args) => commands::points::scorecard(&args),
        Command::Points(PointsCommand::Threshold(args)) => commands::points::threshold(&args),
        Command::Export(ExportCommand::Sql(args)) => commands::export::sql(&args),
        Command::Models(command) => match command {
            ModelsCommand::List(args) => commands::models::list(&args),
            ModelsCommand::Show(args) => commands::models::show(&args),
            ModelsCommand::Diff(args) => commands::models::diff(&args),
            ModelsCommand::Shadow(args) => commands::models::shadow(&args),
            ModelsCommand::Promote(args) => commands::models::promote(&args),
            ModelsCommand::Rollback(args) => commands::models::rollback(&args),
        },
        Command::Monitor(args) => commands::monitor::run(&args),
        Command::Webhooks(WebhooksCommand::Status(args)) => commands::webhooks::status(&args),
        Command::Webhooks(WebhooksCommand::Requeue(args)) => commands::webhooks::requeue(&args),
    }
}

/// The process exit status of a failed command: 3 when `leadscore monitor`'s verdict reached
/// `--fail-on` (the report was printed), 1 for every other error.
pub fn exit_status(error: &anyhow::Error) -> u8 {
    if error.is::<commands::monitor::VerdictFailed>() {
        3
    } else {
        1
    }
}
