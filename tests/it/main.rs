//! The integration tests: one binary, so a change links once. Each module drives a real Gangway
//! (HTTP server, SQLite or PostgreSQL, driver subprocesses) against the fake GitHub on loopback.

mod approval;
mod checks_by_app;
mod cli;
mod commands;
mod dashboard_pages;
mod demo;
mod docs;
mod driver_secrets;
mod gates;
mod github_client;
mod hosts;
mod http_limits;
mod junk;
mod layers;
mod migrations;
mod outages;
mod pagination;
mod previews;
mod previews_team;
mod promotion;
mod queue;
mod replicas;
mod signoff;
mod slots;
mod support;
mod targets;
mod texts;
mod timers;
mod untrusted_text;
mod verification;
mod webhooks;
mod workflows;
