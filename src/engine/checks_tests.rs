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
