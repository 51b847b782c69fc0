//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Open predictive and points-based lead scoring.
///
/// Train a calibrated model on won/lost leads and their behaviour events, score leads in batch or
/// over HTTP with reasons, and compare it with a points scorecard.
#[derive(Debug, Parser)]
#[command(name = "leadscore", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
// Parsed once per process: boxing the larger argument sets would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate synthetic leads, events and a truth file with known conversion probabilities.
    Generate(GenerateArgs),
    /// Load a leads file (and events) and print the inferred schema, class balance and warnings.
    Describe(DescribeArgs),
    /// Train logistic, tree and boosted models on closed leads and save the best as a model file.
    Train(TrainArgs),
    /// Measure a saved model on a leads file with outcomes.
    Evaluate(EvaluateArgs),
    /// Score a leads file in batch: probability, percentile, tier and reasons per lead.
    Score(ScoreArgs),
    /// Write the feature matrix a model sees (for notebooks and other tools).
    Features(FeaturesArgs),
    /// Compare the model with a points rules file on a holdout: metrics, intervals, HTML report.
    Compare(CompareArgs),
    /// Serve scores over HTTP: probability, points and reasons per lead.
    Serve(ServeArgs),
    /// Record won/lost outcomes for live experiments and retraining.
    #[command(subcommand)]
    Outcomes(OutcomesCommand),
    /// Live A/B experiments.
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// Learn a points rules file from closed leads (a logistic scorecard scaled to points).
    Scorecard(ScorecardArgs),
    /// Points rules tools: the MQL threshold from history.
    #[command(subcommand)]
    Points(PointsCommand),
    /// Take the model to the data: the whole scoring pipeline as SQL.
    #[command(subcommand)]
    Export(ExportCommand),
    /// The model registry: versions, champion, shadow challenger, promote, rollback, diff.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Is the served model still right: score drift, backtest on outcomes, shadow challenger.
    Monitor(MonitorArgs),
    /// Threshold webhooks' outbox: status and dead letters.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

/// `leadscore models …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every model of the registry with its versions, champion and challenger.
    List(RegistryArgs),
    /// One model's versions with their metrics, and the log of its pointer.
    Show(ModelNameArgs),
    /// What changed between two versions: metrics, model, data, tiers, features.
    Diff(ModelsDiffArgs),
    /// Score a version in shadow beside the champion (recorded, never answered).
    Shadow(ModelsShadowArgs),
    /// Serve a version: it becomes the champion (a running server reloads within a second).
    Promote(ModelVersionArgs),
    /// Serve the previous champion again.
    Rollback(ModelNameArgs),
}

/// Where the registry is.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Registry folder: one subfolder per model name.
    #[arg(long, value_name = "DIR", default_value = "models")]
    pub registry: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A model of the registry.
#[derive(Debug, Args)]
pub struct ModelNameArgs {
    /// Model name.
    pub name: String,
    /// The registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// A version of a model of the registry.
#[derive(Debug, Args)]
pub struct ModelVersionArgs {
    /// Model name.
    pub name: String,
    /// Version.
    #[arg(value_name = "VERSION")]
    pub model_version: String,
    /// The registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `leadscore models diff`.
#[derive(Debug, Args)]
pub struct ModelsDiffArgs {
    /// Model name.
    pub name: String,
    /// The older version [default: the champion].
    pub old: Option<String>,
    /// The newer version [default: the newest version].
    pub new: Option<String>,
    /// The registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `leadscore models shadow`.
#[derive(Debug, Args)]
pub struct ModelsShadowArgs {
    /// Model name.
    pub name: String,
    /// The version to score in shadow.
    #[arg(
        value_name = "VERSION",
        required_unless_present = "off",
        conflicts_with = "off"
    )]
    pub model_version: Option<String>,
    /// Stop scoring a challenger.
    #[arg(long)]
    pub off: bool,
    /// The registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `leadscore monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Scores database of the server.
    #[arg(long, value_name = "FILE", default_value = "leadscore.db")]
    pub db: PathBuf,
    /// The served model: a model file, or a registry folder (`models/NAME`, whose champion and
    /// challenger are monitored).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Weeks of score drift, counted back from today.
    #[arg(long, default_value_t = 12)]
    pub weeks: u32,
    /// PSI from which a week warns.
    #[arg(long, default_value_t = 0.1)]
    pub psi_warn: f64,
    /// PSI from which a week alerts.
    #[arg(long, default_value_t = 0.25)]
    pub psi_alert: f64,
    /// How far below validation AUC a month's AUC may fall.
    #[arg(long, default_value_t = 0.05)]
    pub auc_margin: f64,
    /// Fewest scores for a week to be judged.
    #[arg(long, default_value_t = 100)]
    pub min_week_scores: u64,
    /// Fewest outcomes for a month to be judged.
    #[arg(long, default_value_t = 100)]
    pub min_month_outcomes: usize,
    /// Exit with status 3 from this verdict on: alert or warn.
    #[arg(long, value_name = "STATUS", default_value = "alert")]
    pub fail_on: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `leadscore export …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// One SQL query scoring the leads table where it lives (PostgreSQL, DuckDB, Spark SQL).
    Sql(ExportSqlArgs),
}

/// Arguments of `leadscore export sql`.
#[derive(Debug, Args)]
pub struct ExportSqlArgs {
    /// Model file (give a model, a rules file, or both).
    #[arg(long, value_name = "FILE", required_unless_present = "rules")]
    pub model: Option<PathBuf>,
    /// Points rules file (TOML).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Target engine: postgres, duckdb or spark.
    #[arg(long)]
    pub dialect: String,
    /// Leads table, optionally schema-qualified.
    #[arg(long, value_name = "TABLE", default_value = "leads")]
    pub leads_table: String,
    /// Events table, optionally schema-qualified [default: events, when the model or rules read
    /// events].
    #[arg(long, value_name = "TABLE")]
    pub events_table: Option<String>,
    /// Time at which open leads are scored [default: when the query runs].
    #[arg(long, value_name = "TIME", conflicts_with = "as_of_column")]
    pub as_of: Option<String>,
    /// Timestamp column of the leads table holding each open lead's scoring time.
    #[arg(long, value_name = "COL")]
    pub as_of_column: Option<String>,
    /// A column named differently in the warehouse: NAME=WAREHOUSE_COLUMN (repeatable).
    #[arg(long = "column", value_name = "NAME=COL")]
    pub columns: Vec<String>,
    /// Positive and negative reasons per lead (logistic models).
    #[arg(long, default_value_t = 3)]
    pub reasons: usize,
    /// Score every lead at the scoring time, reading no outcome column.
    #[arg(long)]
    pub open_leads_only: bool,
    /// Print the CREATE TABLE statements of the tables the query reads instead of the query.
    #[arg(long)]
    pub ddl: bool,
    /// Write the SQL here [default: standard output].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `leadscore train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Which data to read.
    #[command(flatten)]
    pub data: DataArgs,
    /// Behaviour feature settings.
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Model file to write [default: models/<name>.json].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Model name [default: the name of the --out file, else of the leads file].
    #[arg(long)]
    pub name: Option<String>,
    /// Add the model to this registry as `DIR/<name>/<version>.json` instead of writing --out;
    /// the first version of a name becomes its champion.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub registry: Option<PathBuf>,
    /// Model kinds to try: logistic, tree, gbdt [default: all].
    #[arg(long, value_name = "KIND[,KIND]", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Validation: auto (time split when close dates exist, else k-fold), time or kfold.
    #[arg(long, value_name = "SCHEME")]
    pub validation: Option<String>,
    /// Folds of k-fold validation [default: 5].
    #[arg(long)]
    pub folds: Option<usize>,
    /// Share of closed leads held out as a test set, never used to choose the model [default: 0].
    #[arg(long, value_name = "SHARE")]
    pub test_fraction: Option<f64>,
    /// How the test set is chosen: auto (most recent when dated), time or random.
    #[arg(long, value_name = "KIND")]
    pub test_split: Option<String>,
    /// Random seed [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Drop columns flagged as likely leaks instead of only warning.
    #[arg(long)]
    pub exclude_leaks: bool,
    /// Write the model even when it is no better than chance or than one column alone.
    #[arg(long)]
    pub allow_weak: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Behaviour feature flags.
#[derive(Debug, Clone, Default, Args)]
pub struct FeatureArgs {
    /// Trailing windows of event counts, in days [default: 7,30,90].
    #[arg(long, value_name = "DAYS[,DAYS]", value_delimiter = ',')]
    pub windows: Vec<u32>,
    /// Half-life of decayed event counts, in days [default: 30].
    #[arg(long, value_name = "DAYS")]
    pub half_life: Option<f64>,
    /// Take closed leads' features at creation + N days instead of at the close date.
    #[arg(long, value_name = "DAYS")]
    pub as_of_days: Option<u32>,
}

/// Arguments of `leadscore evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which data to read (types, outcome values and ids default to the model's).
    #[command(flatten)]
    pub data: DataArgs,
    /// Time at which open leads are scored [default: now].
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Print the metrics as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `leadscore score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Model file (give a model, a rules file, or both).
    #[arg(long, value_name = "FILE", required_unless_present = "rules")]
    pub model: Option<PathBuf>,
    /// Points rules file (TOML).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Which data to read (the outcome column is optional).
    #[command(flatten)]
    pub data: DataArgs,
    /// Output file: .csv or .parquet.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Positive and negative reasons per lead.
    #[arg(long, default_value_t = 3)]
    pub reasons: usize,
    /// Time at which open leads are scored [default: now].
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Print a summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `leadscore features`.
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Model file whose fitted feature pipeline is applied.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Which data to read (the outcome column is optional).
    #[command(flatten)]
    pub data: DataArgs,
    /// Output file: .csv or .parquet.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Time at which open leads' features are taken [default: now].
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Print a summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `leadscore compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Points rules file (TOML).
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Which data to read (closed leads form the holdout).
    #[command(flatten)]
    pub data: DataArgs,
    /// Share of closed leads used as the holdout: the most recently closed when dated.
    #[arg(
        long,
        default_value_t = 0.2,
        value_name = "SHARE",
        conflicts_with = "whole_file"
    )]
    pub holdout_fraction: f64,
    /// Use every closed lead of the file as the holdout (a file neither was fitted on).
    #[arg(long)]
    pub whole_file: bool,
    /// Write a self-contained HTML report here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Bootstrap resamples for the intervals.
    #[arg(long, default_value_t = 1000)]
    pub resamples: usize,
    /// Seed of the holdout split and the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `leadscore serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Model file, or a folder whose newest *.json is served (reloaded when it changes).
    #[arg(long, value_name = "FILE|DIR", required_unless_present = "rules")]
    pub model: Option<PathBuf>,
    /// Points rules file (TOML), reloaded when it changes.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// SQLite file recording every score.
    #[arg(long, value_name = "FILE", default_value = "leadscore.db")]
    pub db: PathBuf,
    /// Record nothing.
    #[arg(long, conflicts_with = "db")]
    pub no_db: bool,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// API key accepted as `Authorization: Bearer <key>` (repeatable); write routes need one.
    #[arg(
        long = "api-key",
        value_name = "KEY",
        env = "LEADSCORE_API_KEYS",
        value_delimiter = ','
    )]
    pub api_keys: Vec<String>,
    /// Require an API key on read routes too.
    #[arg(long)]
    pub keys_for_reads: bool,
    /// Most leads in one batch request.
    #[arg(long, default_value_t = 1000)]
    pub max_batch: usize,
    /// Largest request body in bytes (the default fits a full batch with 100 events per lead).
    #[arg(long, default_value_t = 16 << 20)]
    pub max_body_bytes: usize,
    /// Longest lead id in bytes.
    #[arg(long, default_value_t = 256)]
    pub max_id_bytes: usize,
    /// Longest text attribute value or event type in bytes.
    #[arg(long, default_value_t = 4096)]
    pub max_text_bytes: usize,
    /// Most attributes of one lead.
    #[arg(long, default_value_t = 1000)]
    pub max_attributes: usize,
    /// Most events of one lead.
    #[arg(long, default_value_t = 10_000)]
    pub max_events: usize,
    /// Longest a request may take, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout_secs: f64,
    /// Longest a client may take to send a request's headers, in seconds (idle keep-alive
    /// connections are closed after it too).
    #[arg(long, default_value_t = 10.0)]
    pub header_timeout_secs: f64,
    /// Most open connections; further clients wait until one closes.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// A browser origin allowed to call the API, e.g. https://crm.example.com, or `*` for any
    /// (repeatable); none: no cross-origin calls.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Seed an empty --db with a demo history for the console: DIR/leads.csv (and
    /// DIR/events.csv) scored over the last four weeks, assigned to the experiments, and the
    /// outcomes of leads scored over a week ago recorded. E.g. `--demo data/sample`.
    #[arg(long, value_name = "DIR", conflicts_with = "no_db")]
    pub demo: Option<PathBuf>,
    /// Do not keep each answer's reasons and points breakdown with its score: more requests per
    /// second, and the console's lead page shows scores without reasons.
    #[arg(long)]
    pub no_answers: bool,
    /// Longest shutdown waits for open connections, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub shutdown_grace_secs: f64,
    /// Positive and negative reasons per lead.
    #[arg(long, default_value_t = 3)]
    pub reasons: usize,
    /// Log lines as JSON instead of text.
    #[arg(long)]
    pub json_logs: bool,
    /// Live experiments to run (TOML); assignments and outcomes go to --db.
    #[arg(long, value_name = "FILE")]
    pub experiments: Option<PathBuf>,
    /// Threshold webhooks (TOML, `[[webhook]]`): POST an event when a lead becomes an MQL or
    /// enters a tier; events wait in an outbox in --db.
    #[arg(long, value_name = "FILE")]
    pub webhooks: Option<PathBuf>,
}

/// `leadscore webhooks …` subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Events pending, delivered and dead-lettered in a server's outbox.
    Status(WebhooksDbArgs),
    /// Put every dead-lettered event back in line (the server delivers them again).
    Requeue(WebhooksDbArgs),
}

/// The database holding the outbox.
#[derive(Debug, Args)]
pub struct WebhooksDbArgs {
    /// Scores database of the server.
    #[arg(long, value_name = "FILE", default_value = "leadscore.db")]
    pub db: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `leadscore outcomes …` subcommands.
#[derive(Debug, Subcommand)]
pub enum OutcomesCommand {
    /// Record the won/lost outcomes of a leads file in the scores database (idempotent).
    Import(OutcomesImportArgs),
}

/// Arguments of `leadscore outcomes import`.
#[derive(Debug, Args)]
pub struct OutcomesImportArgs {
    /// Leads file whose closed leads are recorded (the same as --leads).
    #[arg(value_name = "FILE", conflicts_with = "leads")]
    pub file: Option<PathBuf>,
    /// Which data to read: its closed leads are recorded.
    #[command(flatten)]
    pub data: DataArgs,
    /// Scores database.
    #[arg(long, value_name = "FILE", default_value = "leadscore.db")]
    pub db: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `leadscore experiment …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Per-arm conversion, the difference with its interval and test, and a verdict.
    Report(ExperimentReportArgs),
}

/// Arguments of `leadscore experiment report`.
#[derive(Debug, Args)]
pub struct ExperimentReportArgs {
    /// Experiment name.
    #[arg(long)]
    pub name: String,
    /// Scores database.
    #[arg(long, value_name = "FILE", default_value = "leadscore.db")]
    pub db: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `leadscore scorecard`.
#[derive(Debug, Args)]
pub struct ScorecardArgs {
    /// Which data to learn from.
    #[command(flatten)]
    pub data: DataArgs,
    /// Rules file to write (TOML).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// A hand-written rules file to compare with on the test part.
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,
    /// Folds of the cross-validation comparing the scorecard, the compared rules and a logistic
    /// model.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Points that double the odds of converting.
    #[arg(long, default_value_t = 20.0, value_name = "POINTS")]
    pub points_to_double_odds: f64,
    /// Share of historical leads the learned MQL threshold passes.
    #[arg(long, default_value_t = 0.2, value_name = "SHARE")]
    pub mql_capacity: f64,
    /// Random seed of the folds.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `leadscore points …` subcommands.
#[derive(Debug, Subcommand)]
pub enum PointsCommand {
    /// Recommend the MQL threshold from closed leads for a sales capacity or a target conversion
    /// rate, and show the conversion rate per points band.
    Threshold(ThresholdArgs),
}

/// Arguments of `leadscore points threshold`.
#[derive(Debug, Args)]
pub struct ThresholdArgs {
    /// Points rules file (TOML).
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Which data to read (closed leads are used).
    #[command(flatten)]
    pub data: DataArgs,
    /// Share of leads sales can work, e.g. 0.2 for the top 20%.
    #[arg(long, value_name = "SHARE", conflicts_with = "precision")]
    pub capacity: Option<f64>,
    /// Conversion rate MQLs must reach, e.g. 0.3.
    #[arg(long, value_name = "SHARE")]
    pub precision: Option<f64>,
    /// Number of points bands in the conversion table.
    #[arg(long, default_value_t = 10)]
    pub bands: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `leadscore generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of leads.
    #[arg(long, default_value_t = 10_000)]
    pub leads: usize,
    /// Random seed; the same seed writes identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Months over which leads are created.
    #[arg(long, default_value_t = 18)]
    pub months: u32,
    /// Multiplier of event rates (1.0 ≈ 10 events per lead).
    #[arg(long, default_value_t = 1.0)]
    pub activity: f64,
    /// Add won leads' deal values (`deal_value`) and the truth's expected deal value.
    #[arg(long)]
    pub deal_values: bool,
    /// Output folder for leads.csv, events.csv and truth.csv.
    #[arg(long, value_name = "DIR", default_value = "data/generated")]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `leadscore describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// Which data to read.
    #[command(flatten)]
    pub data: DataArgs,
    /// Print the description as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Data selection shared by describe, train, evaluate, score and compare.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// Leads file: CSV/TSV (separator auto-detected) or Parquet.
    #[arg(long, value_name = "FILE")]
    pub leads: Option<PathBuf>,
    /// Events file (lead_id, timestamp, event_type[, value]).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Outcome column [default: outcome].
    #[arg(long, value_name = "COL")]
    pub target: Option<String>,
    /// Outcome values meaning won [default: guessed from won/yes/1/converted...].
    #[arg(long, value_name = "VALUE[,VALUE]", value_delimiter = ',')]
    pub positive: Vec<String>,
    /// Outcome values meaning lost [default: the one other value].
    #[arg(long, value_name = "VALUE[,VALUE]", value_delimiter = ',')]
    pub negative: Vec<String>,
    /// Outcome values meaning still open, besides empty cells [default: open].
    #[arg(long, value_name = "VALUE[,VALUE]", value_delimiter = ',')]
    pub open: Vec<String>,
    /// Id column [default: lead_id if present, else row numbers].
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// Columns never used as features (leaks, ids, free text).
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Columns forced numeric.
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub numeric: Vec<String>,
    /// Columns forced categorical.
    #[arg(long, value_name = "COL[,COL]", value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Extra placeholders read as missing (besides "", NA, N/A, NaN, null, None, -, ?, Select).
    #[arg(long, value_name = "TOKEN[,TOKEN]", value_delimiter = ',')]
    pub missing_values: Vec<String>,
    /// Field separator: , ; | or tab [default: detected].
    #[arg(long, value_name = "CHAR")]
    pub sep: Option<String>,
    /// Creation date column [default: created_at if present].
    #[arg(long, value_name = "COL")]
    pub created_at: Option<String>,
    /// Close date column [default: closed_at if present].
    #[arg(long, value_name = "COL")]
    pub closed_at: Option<String>,
    /// Deal value column (won deals' amounts): train learns the value of a win, compare reports
    /// revenue captured; never a feature.
    #[arg(long, value_name = "COL")]
    pub value: Option<String>,
    /// Settings file [default: ./leadscore.toml if present]; flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Parses a time given as a date or RFC 3339 timestamp.
pub fn parse_time(text: &str) -> Result<i64, String> {
    leadscore_data::time::parse_timestamp(text)
        .ok_or_else(|| format!("`{text}` is not a date (YYYY-MM-DD) or RFC 3339 timestamp"))
}

/// The scoring time of open leads: `--as-of` when given, else now.
pub fn scoring_time(as_of: Option<&str>) -> anyhow::Result<i64> {
    Ok(match as_of {
        Some(text) => parse_time(text).map_err(anyhow::Error::msg)?,
        None => leadscore_data::time::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }
}
