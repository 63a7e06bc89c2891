//! Is a commit green? Check runs and commit statuses, reduced to passed / pending / failed.

// What GitHub reports: plain data, in the model (the GitHub client decodes into it).
pub use crate::model::{CheckItem, Outcome};

/// The commit's checks, reduced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub passed: Vec<String>,
    pub pending: Vec<String>,
    /// (name, GitHub's conclusion)
    pub failed: Vec<(String, String)>,
}

impl CheckSummary {
    /// Reduces `items` (oldest first: for a name seen twice, a re-run, the later result wins);
    /// with `required` non-empty only those names count, and a required name with no result
    /// yet is pending.
    pub fn of(items: &[CheckItem], required: &[String]) -> CheckSummary {
        let mut latest: Vec<(&str, &Outcome)> = Vec::new();
        for item in items {
            if !required.is_empty() && !required.contains(&item.name) {
                continue;
            }
            match latest.iter_mut().find(|(n, _)| *n == item.name) {
                Some(slot) => slot.1 = &item.outcome,
                None => latest.push((&item.name, &item.outcome)),
            }
        }
        latest.sort_by(|a, b| a.0.cmp(b.0));
        let mut s = CheckSummary::default();
        for (name, outcome) in latest {
            match outcome {
                Outcome::Passed => s.passed.push(name.to_owned()),
                Outcome::Pending => s.pending.push(name.to_owned()),
                Outcome::Failed(c) => s.failed.push((name.to_owned(), c.clone())),
            }
        }
        for r in required {
            if !items.iter().any(|i| &i.name == r) {
                s.pending.push(r.clone());
            }
        }
        s
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
