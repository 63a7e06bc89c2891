//! What GitHub says is left of each installation's rate limit, from every answer's
//! `X-RateLimit-*` headers. Timers read it to slow down before the budget runs out; webhooks and
//! commands never wait for it.

use std::collections::HashMap;
use std::sync::Mutex;

use http::HeaderMap;

use crate::types::InstallationId;

/// An installation's primary rate-limit budget as last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds when the budget refills.
    pub reset: i64,
}

impl Budget {
    /// Whether background work should wait: less than `reserve_percent` of the limit is left.
    pub fn is_low(&self, reserve_percent: u64) -> bool {
        self.remaining.saturating_mul(100) < self.limit.saturating_mul(reserve_percent)
    }

    pub fn from_headers(h: &HeaderMap) -> Option<Budget> {
        let num = |n: &str| h.get(n)?.to_str().ok()?.trim().parse::<i64>().ok();
        Some(Budget {
            limit: u64::try_from(num("x-ratelimit-limit")?).ok()?,
            remaining: u64::try_from(num("x-ratelimit-remaining")?).ok()?,
            reset: num("x-ratelimit-reset")?,
        })
    }
}

/// Each installation's budgets, one per resource GitHub names in `X-RateLimit-Resource`
/// (`core` for REST, `graphql`, `search`, …): a GraphQL answer never overwrites the REST budget
/// background work is paced by.
#[derive(Debug, Default)]
pub struct Budgets(Mutex<HashMap<(InstallationId, String), Budget>>);

/// The resource an answer's budget belongs to; REST's `core` when GitHub does not say.
fn resource(h: &HeaderMap) -> String {
    h.get("x-ratelimit-resource")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| CORE.to_owned())
}

/// REST's resource.
pub const CORE: &str = "core";
/// GraphQL's resource (the checks query), budgeted apart from REST by GitHub.
pub const GRAPHQL: &str = "graphql";

impl Budgets {
    pub fn record(&self, installation: InstallationId, headers: &HeaderMap) {
        if let (Some(b), Ok(mut map)) = (Budget::from_headers(headers), self.0.lock()) {
            map.insert((installation, resource(headers)), b);
        }
    }

    /// Every budget on record: (installation, resource, budget), by installation and resource.
    pub fn all(&self) -> Vec<(InstallationId, String, Budget)> {
        let mut all: Vec<_> = self
            .0
            .lock()
            .map(|m| m.iter().map(|((i, r), b)| (*i, r.clone(), *b)).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| (a.0.0, &a.1).cmp(&(b.0.0, &b.1)));
        all
    }

    /// The installation's REST (`core`) budget.
    pub fn get(&self, installation: InstallationId) -> Option<Budget> {
        self.get_resource(installation, CORE)
    }

    /// The installation's budget of one resource (`core`, `graphql`, …).
    pub fn get_resource(&self, installation: InstallationId, resource: &str) -> Option<Budget> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(&(installation, resource.to_owned())).copied())
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
