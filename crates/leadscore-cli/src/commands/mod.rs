//! One module per subcommand.

pub mod describe;
pub mod evaluate;
pub mod generate;
pub mod score;
pub mod train;
