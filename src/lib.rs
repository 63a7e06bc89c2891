//! Gangway: a GitHub App that turns pull requests into deployments.
//!
//! The flow of one event: `webhook` (verify, store with its job) → `queue` (durable, leased,
//! one job per key at a time) → `processor` (decode, decide, act) → `github`, drivers, `store`.
//! See DESIGN.md beside the repository for the agreed architecture.

pub mod clock;

pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod driver;
pub mod engine;
pub mod executor;
pub mod github;

pub mod http;
pub mod jobs;
pub mod metrics;
pub mod model;
pub mod operator;
pub mod policy;

pub mod ingress;
pub mod queue;
pub mod server;
pub mod store;
pub mod timers;
pub mod types;
