//! Is a commit green? Check runs and commit statuses, reduced to passed / pending / failed.
//!
//! Owns how results are matched and combined. Each source (an App's check runs, by slug; the
//! commit statuses) reports a name; within one source the latest result wins (a re-run
//! replaces the earlier one). A name reported by several sources is as good as the worst of
//! them: any failure fails it, anything still running keeps it pending. So a second App, or a
//! commit status, posting a passing result under a failing check's name changes nothing. A
//! required check named with its App (`github-actions/build`) counts only that App's check
//! runs; a name alone (`build`) counts every source of that name. Pure: the executor reads the
//! checks (`github/checks.rs`) and the policy, and asks here.

// What GitHub reports: plain data, in the model (the GitHub client decodes into it).
pub use crate::model::{CheckItem, CheckSource, Outcome};
use crate::policy::RequiredCheck;

/// The commit's checks, reduced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub passed: Vec<String>,
    pub pending: Vec<String>,
    /// (name, GitHub's conclusion)
    pub failed: Vec<(String, String)>,
}

impl CheckSummary {
    /// Reduces `items` (oldest first). With `required` empty every name reported counts; else
    /// only the required checks do, each under the name the policy gives it, and one that no
    /// source reported yet is pending.
    pub fn of(items: &[CheckItem], required: &[RequiredCheck]) -> CheckSummary {
        let mut results: Vec<(String, Outcome)> = Vec::new();
        if required.is_empty() {
            let mut names: Vec<&str> = Vec::new();
            for item in items {
                if !names.contains(&item.name.as_str()) {
                    names.push(&item.name);
                }
            }
            for name in names {
                if let Some(o) = combined(items.iter().filter(|i| i.name == name)) {
                    results.push((name.to_owned(), o));
                }
            }
        } else {
            for r in required {
                let o = combined(items.iter().filter(|i| counts_for(r, i)));
                results.push((r.to_string(), o.unwrap_or(Outcome::Pending)));
            }
        }
        results.sort_by(|a, b| a.0.cmp(&b.0));
        let mut s = CheckSummary::default();
        for (name, outcome) in results {
            match outcome {
                Outcome::Passed => s.passed.push(name),
                Outcome::Pending => s.pending.push(name),
                Outcome::Failed(c) => s.failed.push((name, c)),
            }
        }
        s
    }
}

/// Whether `item` is a result for the required check `r`: the same name, and, when `r` names
/// an App, a check run of that App (never a commit status).
pub fn counts_for(r: &RequiredCheck, item: &CheckItem) -> bool {
    item.name == r.name
        && match &r.app {
            None => true,
            Some(app) => {
                matches!(&item.source, CheckSource::App(slug) if slug.eq_ignore_ascii_case(app))
            }
        }
}

/// The outcome of results for one check (oldest first): each source's latest, then the worst
/// of those. `None` when there is none.
fn combined<'a>(items: impl Iterator<Item = &'a CheckItem>) -> Option<Outcome> {
    let mut latest: Vec<(&CheckSource, &Outcome)> = Vec::new();
    for item in items {
        match latest.iter_mut().find(|(s, _)| **s == item.source) {
            Some(slot) => slot.1 = &item.outcome,
            None => latest.push((&item.source, &item.outcome)),
        }
    }
    let outcomes = latest.into_iter().map(|(_, o)| o);
    let mut worst: Option<&Outcome> = None;
    for o in outcomes {
        let rank = |o: &Outcome| match o {
            Outcome::Passed => 0,
            Outcome::Pending => 1,
            Outcome::Failed(_) => 2,
        };
        if worst.is_none_or(|w| rank(o) > rank(w)) {
            worst = Some(o);
        }
    }
    worst.cloned()
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
