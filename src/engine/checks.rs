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
mod tests {
    use super::*;

    fn item(name: &str, outcome: Outcome) -> CheckItem {
        CheckItem {
            name: name.into(),
            outcome,
        }
    }

    #[test]
    fn outcomes_from_github_words() {
        assert_eq!(
            Outcome::of_check_run("completed", Some("skipped")),
            Outcome::Passed
        );
        assert_eq!(
            Outcome::of_check_run("completed", Some("neutral")),
            Outcome::Passed
        );
        assert_eq!(Outcome::of_check_run("in_progress", None), Outcome::Pending);
        assert_eq!(Outcome::of_check_run("queued", None), Outcome::Pending);
        assert_eq!(
            Outcome::of_check_run("completed", Some("timed_out")),
            Outcome::Failed("timed_out".into())
        );
        assert_eq!(
            Outcome::of_check_run("completed", Some("cancelled")),
            Outcome::Failed("cancelled".into())
        );
        assert_eq!(Outcome::of_status("error"), Outcome::Failed("error".into()));
        assert_eq!(Outcome::of_status("pending"), Outcome::Pending);
    }

    #[test]
    fn every_check_counts_by_default() {
        let s = CheckSummary::of(
            &[
                item("build", Outcome::Passed),
                item("lint", Outcome::Pending),
                item("ci/ext", Outcome::Failed("error".into())),
            ],
            &[],
        );
        assert_eq!(s.passed, vec!["build"]);
        assert_eq!(s.pending, vec!["lint"]);
        assert_eq!(s.failed, vec![("ci/ext".to_owned(), "error".to_owned())]);
    }

    #[test]
    fn a_rerun_replaces_the_earlier_result() {
        let s = CheckSummary::of(
            &[
                item("test", Outcome::Failed("failure".into())),
                item("test", Outcome::Passed),
            ],
            &[],
        );
        assert_eq!((s.passed.len(), s.failed.len()), (1, 0));
    }

    #[test]
    fn required_checks_only_and_missing_ones_are_pending() {
        let s = CheckSummary::of(
            &[
                item("build", Outcome::Passed),
                item("flaky", Outcome::Failed("failure".into())),
            ],
            &["build".into(), "deploy-check".into()],
        );
        assert_eq!(s.passed, vec!["build"]);
        assert!(s.failed.is_empty());
        assert_eq!(s.pending, vec!["deploy-check"]);
    }
}
