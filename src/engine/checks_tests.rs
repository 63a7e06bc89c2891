use super::*;

/// A `github-actions` check run.
fn item(name: &str, outcome: Outcome) -> CheckItem {
    by("github-actions", name, outcome)
}

/// A check run of the App `app`.
fn by(app: &str, name: &str, outcome: Outcome) -> CheckItem {
    CheckItem {
        name: name.into(),
        source: CheckSource::App(app.into()),
        outcome,
    }
}

fn status(context: &str, outcome: Outcome) -> CheckItem {
    CheckItem {
        name: context.into(),
        source: CheckSource::Status,
        outcome,
    }
}

fn required(entries: &[&str]) -> Vec<RequiredCheck> {
    entries
        .iter()
        .map(|e| RequiredCheck::parse(e).unwrap())
        .collect()
}

fn failed() -> Outcome {
    Outcome::Failed("failure".into())
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
        &required(&["build", "deploy-check"]),
    );
    assert_eq!(s.passed, vec!["build"]);
    assert!(s.failed.is_empty());
    assert_eq!(s.pending, vec!["deploy-check"]);
}

#[test]
fn another_source_of_the_same_name_never_hides_a_failure() {
    // Another App's later pass, or a commit status's, does not replace github-actions' failure:
    // a name is as good as the worst of its sources, in both modes.
    let items = [
        item("build", failed()),
        by("evil-ci", "build", Outcome::Passed),
        status("build", Outcome::Passed),
    ];
    for req in [vec![], required(&["build"])] {
        let s = CheckSummary::of(&items, &req);
        assert_eq!(s.failed, vec![("build".to_owned(), "failure".to_owned())]);
        assert!(s.passed.is_empty(), "{s:?}");
    }
    // Still running somewhere: pending.
    let s = CheckSummary::of(
        &[
            item("build", Outcome::Passed),
            by("other", "build", Outcome::Pending),
        ],
        &[],
    );
    assert_eq!(s.pending, vec!["build"]);
    // A rerun replaces only its own App's earlier result.
    let s = CheckSummary::of(
        &[
            item("build", failed()),
            by("other", "build", Outcome::Passed),
            item("build", Outcome::Passed),
        ],
        &[],
    );
    assert_eq!(s.passed, vec!["build"]);
}

#[test]
fn a_check_named_with_its_app_counts_only_that_apps_runs() {
    let req = required(&["github-actions/build"]);
    // Missing: only an impostor and a status of that name reported.
    let s = CheckSummary::of(
        &[
            by("evil-ci", "build", Outcome::Passed),
            status("build", Outcome::Passed),
        ],
        &req,
    );
    assert_eq!(s.pending, vec!["github-actions/build"]);
    assert!(s.passed.is_empty());
    // Failing, whatever the impostor says later.
    let s = CheckSummary::of(
        &[
            item("build", failed()),
            by("evil-ci", "build", Outcome::Passed),
        ],
        &req,
    );
    assert_eq!(
        s.failed,
        vec![("github-actions/build".to_owned(), "failure".to_owned())]
    );
    // Its own pass counts, even with someone else failing under the name.
    let s = CheckSummary::of(
        &[
            item("build", Outcome::Passed),
            by("evil-ci", "build", failed()),
        ],
        &req,
    );
    assert_eq!(s.passed, vec!["github-actions/build"]);
    // The slug is compared without case; a run whose App GitHub did not name never counts.
    let unknown = CheckItem {
        name: "build".into(),
        source: CheckSource::UnknownApp,
        outcome: Outcome::Passed,
    };
    let s = CheckSummary::of(&[unknown], &required(&["GitHub-Actions/build"]));
    assert_eq!(s.pending, vec!["github-actions/build"]);
}

#[test]
fn a_name_alone_with_a_slash_is_any_source_after_a_star() {
    let req = required(&["*/ci/circleci: build", "ci / test (ubuntu)"]);
    let s = CheckSummary::of(
        &[
            status("ci/circleci: build", Outcome::Passed),
            by("github-actions", "ci / test (ubuntu)", Outcome::Passed),
        ],
        &req,
    );
    assert_eq!(s.passed, vec!["*/ci/circleci: build", "ci / test (ubuntu)"]);
    assert!(s.pending.is_empty() && s.failed.is_empty(), "{s:?}");
}
