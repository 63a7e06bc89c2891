//! Gangway: a GitHub App that turns pull requests into deployments.
//!
//! The flow of one event: `ingress` verifies a webhook and stores it with its job in one
//! transaction → `queue` hands the job to one worker at a time per pull request →
//! `executor::processor` decodes it and the executor gathers the facts → `engine` decides →
//! the executor acts through `github`, `driver` and `store`. `timers` only enqueue jobs.
//!
//! The modules below are grouped by layer, lowest first. Which modules each may name is a table
//! in `tests/it/layers.rs`, checked on every test run; docs/ARCHITECTURE.md explains each layer,
//! where every rule lives, and how to add a job kind, a command or a policy key.

// Vocabulary: plain data and time, shared by every layer. No I/O.
pub mod clock;
pub mod jobs;
pub mod metrics;
pub mod model;
pub mod types;

// What a maintainer writes (the repository policy) and what an operator sets (settings).
pub mod config;
pub mod policy;

// Decisions: pure functions from facts to actions. No I/O, no clock, no randomness.
pub mod engine;

// The outside world, each on its own: the database, GitHub, the operator's deployer.
pub mod driver;
pub mod github;
pub mod store;

// Durable work: the job lifecycle on top of the store.
pub mod queue;

// The edge and the actors: webhooks in, jobs carried out, timers that enqueue.
pub mod executor;
pub mod ingress;
pub mod timers;

// The dashboard: pages and buttons for signed-in GitHub users.
pub mod web;

// The process: HTTP routes, assembly and shutdown, the operator's CLI, the demo.
#[cfg(feature = "demo")]
pub mod demo;
pub mod http;
pub mod operator;
pub mod server;
