use super::*;
use crate::policy::TrainPolicy;

const HOUR: i64 = 3_600_000;

fn sha() -> CommitSha {
    CommitSha::parse(&"c".repeat(40)).expect("sha")
}

fn on(mode: SignoffMode, on_timeout: SignoffTimeout) -> TrainPolicy {
    TrainPolicy {
        signoff: mode,
        signoff_timeout: std::time::Duration::from_secs(2 * 3600),
        signoff_on_timeout: on_timeout,
        ..TrainPolicy::default()
    }
}

fn carried(number: u64, author: &str) -> Carried {
    Carried {
        number: PrNumber(number),
        author: author.into(),
        bot: false,
    }
}

fn row(number: u64, author: &str, asked_at: i64, answer: Option<SignoffAnswer>) -> Signoff {
    Signoff {
        sha: sha(),
        pr_number: PrNumber(number),
        author: author.into(),
        asked_at,
        comment_id: Some(1),
        answer,
        answered_by: answer.map(|_| author.to_owned()),
        reason: None,
        answered_at: answer.map(|_| asked_at + 1),
        stop_told: false,
    }
}

#[test]
fn off_goes_at_once_and_nobody_to_ask_goes_too() {
    let p = on(SignoffMode::Off, SignoffTimeout::Stop);
    assert_eq!(gate(&p, &[carried(1, "ann")], &[], 0), Gate::Go);
    let p = on(SignoffMode::Authors, SignoffTimeout::Stop);
    assert_eq!(gate(&p, &[], &[], 0), Gate::Go);
    // A bot's pull request is never asked.
    let bot = Carried {
        bot: true,
        ..carried(3, "dependabot[bot]")
    };
    assert_eq!(gate(&p, &[bot], &[], 0), Gate::Go);
}

#[test]
fn each_author_is_asked_once_then_production_waits_for_every_good_until_the_timeout() {
    let p = on(SignoffMode::Authors, SignoffTimeout::Proceed);
    let both = [carried(1, "ann"), carried(2, "bob")];
    assert_eq!(gate(&p, &both, &[], 0), Gate::Ask(both.to_vec()));
    let asked = [row(1, "ann", 10, None), row(2, "bob", 10, None)];
    assert_eq!(gate(&p, &both, &asked, 20), Gate::WaitUntil(10 + 2 * HOUR));
    let one_good = [
        row(1, "ann", 10, Some(SignoffAnswer::Good)),
        row(2, "bob", 10, None),
    ];
    assert_eq!(
        gate(&p, &both, &one_good, 20),
        Gate::WaitUntil(10 + 2 * HOUR)
    );
    assert_eq!(gate(&p, &both, &one_good, 10 + 2 * HOUR), Gate::Go);
    let all_good = [
        row(1, "ann", 10, Some(SignoffAnswer::Good)),
        row(2, "bob", 10, Some(SignoffAnswer::Good)),
    ];
    assert_eq!(gate(&p, &both, &all_good, 20), Gate::Go);
    // Under `stop`, silence stops the train and names who was silent.
    let p = on(SignoffMode::Authors, SignoffTimeout::Stop);
    assert_eq!(
        gate(&p, &both, &one_good, 10 + 2 * HOUR),
        Gate::Stop("sign-off timed out: no **/good** from @bob (#2)".into())
    );
}

#[test]
fn a_bad_stops_the_train_whatever_else_was_said() {
    let p = on(SignoffMode::Authors, SignoffTimeout::Proceed);
    let both = [carried(1, "ann"), carried(2, "bob")];
    let mut bad = row(2, "bob", 10, Some(SignoffAnswer::Bad));
    bad.answered_by = Some("carol".into());
    bad.reason = Some("checkout is blank".into());
    let rows = [row(1, "ann", 10, Some(SignoffAnswer::Good)), bad];
    assert_eq!(
        gate(&p, &both, &rows, 20),
        Gate::Stop("@carol said **/bad** on #2: checkout is blank".into())
    );
}

#[test]
fn good_counts_only_from_the_author_and_bad_from_the_author_or_by_permission() {
    let r = row(2, "Bob", 10, None);
    let bad_needs = Permission::Write;
    assert_eq!(
        may_answer(SignoffAnswer::Good, "bob", &r, Permission::None, bad_needs),
        Ok(())
    );
    for (who, has) in [
        ("mallory", Permission::None),
        ("boss", Permission::Admin),
        ("writer", Permission::Write),
    ] {
        assert!(
            may_answer(SignoffAnswer::Good, who, &r, has, bad_needs).is_err(),
            "{who}'s /good counted"
        );
    }
    assert_eq!(
        may_answer(SignoffAnswer::Bad, "BOB", &r, Permission::Read, bad_needs),
        Ok(())
    );
    assert_eq!(
        may_answer(
            SignoffAnswer::Bad,
            "writer",
            &r,
            Permission::Write,
            bad_needs
        ),
        Ok(())
    );
    let refused = may_answer(
        SignoffAnswer::Bad,
        "reader",
        &r,
        Permission::Read,
        bad_needs,
    );
    assert_eq!(
        refused,
        Err("`/bad` is for the author of this pull request (@Bob) or someone with write permission or more; you have read. Nothing was marked.".into())
    );
}

#[test]
fn an_answer_goes_to_the_newest_round_that_is_not_over_and_bad_marks_where_it_ran() {
    let old = Signoff {
        sha: CommitSha::parse(&"a".repeat(40)).expect("sha"),
        ..row(2, "bob", 5, None)
    };
    let new = row(2, "bob", 10, None);
    let rows = [new.clone(), old.clone()];
    assert_eq!(open_row(&rows, |_| false), Some(&new));
    assert_eq!(open_row(&rows, |s| *s == sha()), Some(&old));
    assert_eq!(open_row(&rows, |_| true), None);
    assert_eq!(
        found_in(&["staging".into(), "production".into()]),
        "staging"
    );
    assert_eq!(found_in(&["production".into()]), "production");
}

#[test]
fn the_words_read_as_pinned() {
    let p = on(SignoffMode::Authors, SignoffTimeout::Proceed);
    let mut bad = row(2, "bob", 10, Some(SignoffAnswer::Bad));
    bad.reason = Some("checkout is blank".into());
    insta::assert_snapshot!(
        [
            question("ann", &sha(), "production", 2 * HOUR, &p),
            question(
                "ann",
                &sha(),
                "production",
                2 * HOUR,
                &on(SignoffMode::Authors, SignoffTimeout::Stop)
            ),
            good_answer(&sha(), 1),
            good_answer(&sha(), 0),
            bad_notice(&bad, "staging"),
            summary(&bad),
            timeout_notice(&sha(), "sign-off timed out: no **/good** from @bob (#2)"),
        ]
        .join("\n\n")
    );
}
