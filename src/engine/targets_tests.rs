use super::*;
use crate::engine::test_fixtures::sha;
use crate::model::EnvKind;
use crate::policy::parse;
use crate::types::{PrNumber, RepoId};

fn entry(id: i64, environment: &str, batch: &str) -> QueuedPromotion {
    QueuedPromotion {
        id,
        repo_id: RepoId(1),
        family: "production".into(),
        environment: environment.into(),
        sha: sha(1),
        pr_number: Some(PrNumber(7)),
        requested_by: "ann".into(),
        force: false,
        batch: batch.into(),
        state: QueueState::Waiting,
        reason: None,
        env_deployment_id: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn ids(v: Vec<&QueuedPromotion>) -> Vec<i64> {
    v.into_iter().map(|q| q.id).collect()
}

#[test]
fn the_queue_starts_oldest_first_one_per_target_up_to_the_limit() {
    let waiting = [
        entry(1, "production-au", "a"),
        entry(2, "production-uk", "a"),
        entry(3, "production-ca", "a"),
        entry(4, "production-au", "b"),
    ];
    assert_eq!(ids(to_start(&waiting, &[], &[], 3)), [1, 2, 3]);
    assert_eq!(ids(to_start(&waiting, &[], &[], 2)), [1, 2]);
    // au busy: its two entries wait; the others start.
    assert_eq!(
        ids(to_start(&waiting, &["production-au".into()], &[], 3)),
        [2, 3]
    );
    // A hold pauses its target's entries without dropping them.
    assert_eq!(
        ids(to_start(&waiting, &[], &["production-uk".into()], 3)),
        [1, 3]
    );
    // Running targets count against the limit.
    assert!(to_start(&waiting, &["production-nz".into()], &[], 1).is_empty());
}

#[test]
fn a_position_counts_who_waits_ahead_and_what_runs() {
    let waiting = [
        entry(1, "staging", "a"),
        entry(2, "production", "b"),
        entry(3, "staging", "c"),
    ];
    assert_eq!(position(&waiting, &waiting[0], false), 1);
    assert_eq!(position(&waiting, &waiting[2], false), 2);
    assert_eq!(position(&waiting, &waiting[2], true), 3);
}

#[test]
fn an_environment_runs_a_commit_only_when_every_target_does() {
    let (a, b) = (sha(1), sha(2));
    assert!(runs_everywhere(&[Some(&a), Some(&a)], &a));
    assert!(!runs_everywhere(&[Some(&a), Some(&b)], &a));
    assert!(!runs_everywhere(&[Some(&a), None], &a));
    assert!(!runs_everywhere(&[], &a));
}

#[test]
fn halt_applies_to_targets_under_the_halt_policy_only() {
    let halt =
        parse(b"targets: {production: [au, uk]}\npromotion: {on_target_failure: halt}\n").unwrap();
    let cont = parse(b"targets: {production: [au, uk]}\n").unwrap();
    let au = halt.environments.resolve("production-au").unwrap();
    assert!(halts(&halt, &au));
    assert!(!halts(&cont, &au));
    let whole = halt.environments.resolve("production").unwrap();
    assert!(!halts(&halt, &whole));
    assert!(completes_environment(&au, true));
    assert!(!completes_environment(&au, false));
    assert!(!completes_environment(&whole, true));
}

#[test]
fn answers_say_what_started_what_waits_and_where() {
    let text = promote_answer(
        &sha(1),
        "production",
        &["production-au".into(), "production-uk".into()],
        &[("production-ca".into(), 1)],
        &[],
        Some(2),
        false,
    );
    assert!(
        text.contains("Deploying now: production-au, production-uk."),
        "{text}"
    );
    assert!(
        text.contains("production-ca is queued at position 1"),
        "{text}"
    );
    assert!(text.contains("fewer than 2 targets deploy"), "{text}");
    let busy = promote_answer(
        &sha(1),
        "production",
        &[],
        &[("production".into(), 2)],
        &[],
        None,
        false,
    );
    assert!(
        busy.contains("production is queued at position 2: it starts when the environment is free"),
        "{busy}"
    );
    assert!(busy.contains("**/cancel**"), "{busy}");
    let plain = promote_answer(
        &sha(1),
        "production",
        &["production".into()],
        &[],
        &[],
        None,
        false,
    );
    assert!(!plain.contains("Deploying now"), "{plain}");
    let old = entry(1, "production", "a");
    let new = QueuedPromotion {
        id: 2,
        sha: sha(2),
        pr_number: Some(PrNumber(9)),
        ..entry(2, "production", "b")
    };
    let said = superseded_notice(&old, &new);
    assert!(
        said.contains("superseded by a newer one") && said.contains("from #9"),
        "{said}"
    );
    assert!(cancel_answer(&[]).is_err());
    assert!(
        cancel_answer(&[old])
            .unwrap()
            .contains("withdrawn from the queue")
    );
}

#[test]
fn the_sticky_comment_has_a_line_per_target() {
    let live = EnvDeployment {
        id: 1,
        repo_id: RepoId(1),
        environment: "production-uk".into(),
        sha: sha(1),
        kind: EnvKind::Promote,
        requested_by: "ann".into(),
        pr_number: Some(PrNumber(7)),
        reason: None,
        state: EnvState::Failed,
        deployment_id: None,
        create_attempted: false,
        detail: None,
        log_token: "t".into(),
        created_at: 0,
        updated_at: 0,
        live_at: None,
        finished_at: None,
    };
    let lines = sticky_lines(
        "production",
        &[
            ("production-au".into(), None, None, None),
            ("production-uk".into(), None, Some(&live), None),
        ],
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].contains("production-au: runs nothing yet"),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("failed (retry: **/promote production-uk**)"),
        "{lines:?}"
    );
}

#[test]
fn an_environment_runs_the_commit_every_target_runs() {
    assert_eq!(common_commit(&[Some(sha(1)), Some(sha(1))]), Some(sha(1)));
    assert_eq!(common_commit(&[Some(sha(1)), Some(sha(2))]), None);
    assert_eq!(common_commit(&[Some(sha(1)), None]), None);
    assert_eq!(common_commit(&[None, None]), None);
    assert_eq!(common_commit(&[]), None);
}

fn deployment(environment: &str, sha: CommitSha, state: EnvState) -> EnvDeployment {
    EnvDeployment {
        id: 1,
        repo_id: RepoId(1),
        environment: environment.into(),
        sha,
        kind: EnvKind::Train,
        requested_by: "gangway".into(),
        pr_number: None,
        reason: None,
        state,
        deployment_id: None,
        create_attempted: false,
        detail: None,
        log_token: "t".into(),
        created_at: 0,
        updated_at: 0,
        live_at: None,
        finished_at: None,
    }
}

#[test]
fn the_failed_target_is_the_one_whose_newest_deployment_of_the_commit_failed() {
    let rows = vec![
        (
            "production-au".to_owned(),
            Some(deployment("production-au", sha(1), EnvState::Live)),
        ),
        (
            "production-uk".to_owned(),
            Some(deployment("production-uk", sha(1), EnvState::Failed)),
        ),
        ("production-ca".to_owned(), None),
    ];
    assert_eq!(failed_target(&rows, &sha(1)), Some("production-uk"));
    // A failure of another commit is not the train's.
    assert_eq!(failed_target(&rows, &sha(2)), None);
}

#[test]
fn the_train_queues_a_target_only_once() {
    let deploying = deployment("production-au", sha(1), EnvState::Deploying);
    assert!(train_queues(&sha(1), Some(&sha(2)), None, false));
    assert!(!train_queues(&sha(1), Some(&sha(1)), None, false));
    assert!(!train_queues(&sha(1), None, Some(&deploying), false));
    assert!(train_queues(&sha(2), None, Some(&deploying), false));
    assert!(!train_queues(&sha(1), None, None, true));
}
