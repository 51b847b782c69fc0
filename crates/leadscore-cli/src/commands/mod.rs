//! One module per subcommand.

pub mod compare;
pub mod describe;
pub mod evaluate;
pub mod experiment;
pub mod export;
pub mod features;
pub mod generate;
pub mod models;
pub mod monitor;
pub mod points;
pub mod score;
pub mod serve;
pub mod train;
pub mod webhooks;
