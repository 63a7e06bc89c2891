use super::*;
use crate::model::{CheckSource, Outcome};

fn answer(nodes: Value, has_next: bool, cursor: Option<&str>) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"data": {"repository": {"object": {"statusCheckRollup": {
            "state": "PENDING",
            "contexts": {"pageInfo": {"hasNextPage": has_next, "endCursor": cursor}, "nodes": nodes}
        }}}}}),
    )
    .unwrap()
}

fn item(name: &str, outcome: Outcome) -> CheckItem {
    CheckItem {
        name: name.into(),
        source: CheckSource::Status,
        outcome,
    }
}

fn run(app: Option<&str>, name: &str, outcome: Outcome) -> CheckItem {
    CheckItem {
        name: name.into(),
        source: app.map_or(CheckSource::UnknownApp, |a| CheckSource::App(a.into())),
        outcome,
    }
}

#[test]
fn runs_with_their_app_and_statuses_are_read_in_githubs_upper_case() {
    let page = decode(&answer(
        json!([
            {"__typename": "CheckRun", "databaseId": 9, "name": "test", "status": "COMPLETED", "conclusion": "SUCCESS",
             "checkSuite": {"app": {"slug": "github-actions"}}},
            {"__typename": "CheckRun", "databaseId": 3, "name": "lint", "status": "IN_PROGRESS", "conclusion": null,
             "checkSuite": {"app": {"slug": "CircleCI-Checks"}}},
            {"__typename": "CheckRun", "databaseId": 4, "name": "skip", "status": "COMPLETED", "conclusion": "SKIPPED",
             "checkSuite": {"app": null}},
            {"__typename": "CheckRun", "databaseId": 5, "name": "slow", "status": "COMPLETED", "conclusion": "TIMED_OUT"},
            {"__typename": "StatusContext", "context": "ci/ext", "state": "FAILURE"},
            {"__typename": "StatusContext", "context": "ci/req", "state": "EXPECTED"},
            {"__typename": "StatusContext", "context": "ci/ok", "state": "SUCCESS"},
        ]),
        false,
        Some("abc"),
    ))
    .unwrap();
    assert_eq!(page.next, None, "no next page");
    let items = items(vec![page]);
    assert_eq!(
        items,
        vec![
            run(Some("circleci-checks"), "lint", Outcome::Pending),
            run(None, "skip", Outcome::Passed),
            run(None, "slow", Outcome::Failed("timed_out".into())),
            run(Some("github-actions"), "test", Outcome::Passed),
            item("ci/ext", Outcome::Failed("failure".into())),
            item("ci/req", Outcome::Pending),
            item("ci/ok", Outcome::Passed),
        ]
    );
}

#[test]
fn a_rerun_wins_across_pages() {
    let first = decode(&answer(
        json!([{"__typename": "CheckRun", "databaseId": 20, "name": "test", "status": "COMPLETED", "conclusion": "SUCCESS"}]),
        true,
        Some("c1"),
    ))
    .unwrap();
    assert_eq!(first.next.as_deref(), Some("c1"));
    let second = decode(&answer(
        json!([{"__typename": "CheckRun", "databaseId": 10, "name": "test", "status": "COMPLETED", "conclusion": "FAILURE"}]),
        false,
        None,
    ))
    .unwrap();
    // Runs come out oldest first (by id, whatever page they were on): the engine lets the
    // last result of a name from one App win (engine::checks), so the rerun's success stands.
    let names_and_outcomes: Vec<(String, Outcome)> = items(vec![first, second])
        .into_iter()
        .map(|i| (i.name, i.outcome))
        .collect();
    assert_eq!(
        names_and_outcomes,
        vec![
            ("test".to_owned(), Outcome::Failed("failure".to_owned())),
            ("test".to_owned(), Outcome::Passed),
        ]
    );
}

#[test]
fn no_rollup_no_commit_or_not_a_commit_means_no_checks() {
    for body in [
        json!({"data": {"repository": {"object": {"statusCheckRollup": null}}}}),
        json!({"data": {"repository": {"object": null}}}),
        json!({"data": {"repository": {"object": {}}}}),
        json!({"data": {"repository": {"object": null}}, "errors": [
            {"type": "NOT_FOUND", "path": ["repository", "object"], "message": "Could not resolve to a Commit"}
        ]}),
    ] {
        let page = decode(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(page, Page::default(), "{body}");
    }
}

#[test]
fn unknown_context_kinds_and_null_nodes_are_skipped() {
    let page = decode(&answer(
        json!([null, {"__typename": "FutureThing", "x": 1},
               {"__typename": "StatusContext", "context": "a", "state": "PENDING"}]),
        false,
        None,
    ))
    .unwrap();
    assert_eq!(page.statuses, vec![item("a", Outcome::Pending)]);
}

#[test]
fn a_missing_repository_is_permanent() {
    let body = json!({"data": {"repository": null}, "errors": [
        {"type": "NOT_FOUND", "path": ["repository"],
         "message": "Could not resolve to a Repository with the name 'octo/gone'."}
    ]});
    let e = decode(&serde_json::to_vec(&body).unwrap()).unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");
    assert!(e.to_string().contains("octo/gone"), "{e}");
    let e = decode(br#"{"data": {"repository": null}}"#).unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");
}

#[test]
fn rate_limits_and_timeouts_are_transient() {
    for body in [
        json!({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for installation"}]}),
        json!({"data": null, "errors": [{"message": "Something went wrong while executing your query. This may be the result of a timeout"}]}),
    ] {
        let e = decode(&serde_json::to_vec(&body).unwrap()).unwrap_err();
        assert!(matches!(e, GitHubError::Transient { .. }), "{e:?}");
    }
}

#[test]
fn other_query_errors_are_permanent_and_name_the_query() {
    let body = json!({"errors": [{"message": "Field 'nope' doesn't exist on type 'Commit'",
                                  "extensions": {"code": "undefinedField"}}]});
    let e = decode(&serde_json::to_vec(&body).unwrap()).unwrap_err();
    assert!(matches!(e, GitHubError::Rejected { .. }), "{e:?}");
    assert!(e.to_string().contains(OPERATION), "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn malformed_and_hostile_answers_are_decode_errors() {
    for body in [
        &b""[..],
        b"not json",
        b"[]",
        b"{}",
        br#"{"data": {"repository": {"object": {"statusCheckRollup": {"contexts": 5}}}}}"#,
        br#"{"data": {"repository": {"object": {"statusCheckRollup": {"contexts": {"nodes": []}}}}}}"#,
        br#"{"data": {"repository": {"object": {"statusCheckRollup": {"contexts": {"pageInfo": {"hasNextPage": false}, "nodes": [{"__typename": "CheckRun", "name": 7}]}}}}}}"#,
        br#"{"data": {"repository": {"object": {"statusCheckRollup": {"contexts": {"pageInfo": {"hasNextPage": false}, "nodes": [{"name": "no typename"}]}}}}}}"#,
    ] {
        assert!(
            decode(body).is_err(),
            "{} decoded",
            String::from_utf8_lossy(body)
        );
    }
    // A huge error message is cut, not repeated whole into logs and job errors.
    let long = "x".repeat(10_000);
    let body = json!({"errors": [{"message": long}]});
    let e = decode(&serde_json::to_vec(&body).unwrap()).unwrap_err();
    assert!(e.to_string().len() < 1_000, "{}", e.to_string().len());
}

#[test]
fn the_request_names_the_operation_and_its_variables() {
    let r = request("octo/app", "abc", Some("cur"));
    assert_eq!(r["operationName"], OPERATION);
    assert!(
        r["query"]
            .as_str()
            .unwrap()
            .starts_with("query GangwayChecks(")
    );
    assert_eq!(r["variables"]["owner"], "octo");
    assert_eq!(r["variables"]["name"], "app");
    assert_eq!(r["variables"]["cursor"], "cur");
    assert_eq!(
        request("octo/app", "abc", None)["variables"]["cursor"],
        Value::Null
    );
}
