//! Gangway: a GitHub App that turns pull requests into deployments.
//!
//! The flow of one event: `webhook` (verify, store with its job) → `queue` (durable, leased,
//! one job per key at a time) → `processor` (decode, decide, act) → `github`, drivers, `store`.
//! See DESIGN.md beside the repository for the agreed architecture.

pub mod clock;
pub mod compress;
pub mod config;
pub mod demo;
pub mod driver;
pub mod engine;
pub mod executor;
pub mod fake_github;
pub mod github;
pub mod hosts;
pub mod http;
pub mod metrics;
pub mod model;
pub mod operator;
pub mod policy;
pub mod processor;
pub mod queue;
pub mod server;
pub mod store;
pub mod timers;
pub mod types;
pub mod webhook;
