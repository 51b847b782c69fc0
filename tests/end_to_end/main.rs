//! End-to-end tests of the `leadscore` binary and the server, in one test binary: each module runs
//! the real command line or the real router on the bundled data, as a user would.

mod cli_compare;
mod cli_data;
mod cli_model;
mod cli_points;
mod common;
mod console;
mod engines;
mod experiment_replay;
mod monitor;
mod registry;
mod revenue;
mod serve_parity;
mod serve_process;
mod unseen_exports;
mod warehouse;
mod webdriver;
mod webhooks;
