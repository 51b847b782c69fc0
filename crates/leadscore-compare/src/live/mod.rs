//! Live A/B experiments, in one place: the experiments file ([`load`]), the stable assignment of
//! leads to arms and each arm's routing policy ([`Experiment::decide`]), and the statistics of the
//! report ([`experiment_report`]). The score database (`leadscore-store`) keeps assignments and
//! outcomes; the HTTP server and the CLI only call in here.

mod assign;
mod config;
mod revenue;
mod stats;

pub use assign::Decision;
pub use config::{Arm, Experiment, Policy, load};
pub use revenue::{
    ArmAmounts, ArmRevenue, ExperimentRevenue, RevenueDifference, experiment_revenue,
};
pub use stats::{
    ArmCounts, ArmDifference, ArmReport, ExperimentReport, SequentialInterval, experiment_report,
    wilson,
};
