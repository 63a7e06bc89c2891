use super::*;

const APP: u64 = 77;

fn maker(subject: Subject, via_app: Option<u64>, bot_account: bool, marked: bool) -> Maker {
    Maker {
        subject,
        via_app,
        bot_account,
        marked,
    }
}

#[test]
fn this_apps_own_comments_statuses_and_marked_deployments_are_echoes() {
    for subject in [Subject::Comment, Subject::DeploymentStatus] {
        let m = maker(subject, Some(APP), false, false);
        assert_eq!(origin(&m, Some(APP)), Origin::Echo, "{subject:?}");
        assert!(!origin(&m, Some(APP)).runs_commands());
    }
    let ours = maker(Subject::Deployment, Some(APP), false, true);
    assert_eq!(origin(&ours, Some(APP)), Origin::Echo);
    assert!(origin(&ours, Some(APP)).is_gangways());
}

#[test]
fn another_apps_work_is_not_an_echo() {
    for subject in [
        Subject::Comment,
        Subject::DeploymentStatus,
        Subject::Deployment,
    ] {
        let m = maker(subject, Some(APP + 1), false, false);
        assert_eq!(origin(&m, Some(APP)), Origin::Automation, "{subject:?}");
    }
}

#[test]
fn a_deployment_made_with_this_apps_credentials_but_without_the_marker_is_someones() {
    let scripted = maker(Subject::Deployment, Some(APP), false, false);
    let o = origin(&scripted, Some(APP));
    assert_eq!(o, Origin::Automation);
    assert!(!o.is_echo());
    assert!(!o.is_gangways(), "it is adopted like a hand-made one");
}

#[test]
fn the_marker_makes_a_deployment_gangways_wherever_the_app_id_is_unknown() {
    let marked = maker(Subject::Deployment, None, false, true);
    assert_eq!(origin(&marked, None), Origin::Marked);
    assert_eq!(origin(&marked, Some(APP)), Origin::Marked);
    assert!(origin(&marked, None).is_gangways());
    assert!(!origin(&marked, Some(APP)).is_echo(), "ingress queues it");
    // The marker means nothing on a comment or a status.
    let comment = maker(Subject::Comment, None, false, true);
    assert_eq!(origin(&comment, None), Origin::Person);
}

#[test]
fn only_a_persons_comment_runs_commands() {
    let person = maker(Subject::Comment, None, false, false);
    assert!(origin(&person, None).runs_commands());
    assert!(origin(&person, Some(APP)).runs_commands());
    let bot = maker(Subject::Comment, None, true, false);
    assert!(!origin(&bot, None).runs_commands());
    // Through any App, this one included, even where its id is not known.
    let via_us = maker(Subject::Comment, Some(APP), false, false);
    assert!(!origin(&via_us, None).runs_commands());
    let via_other = maker(Subject::Comment, Some(5), false, false);
    assert!(!origin(&via_other, Some(APP)).runs_commands());
}

#[test]
fn bot_logins_are_recognised() {
    assert!(is_bot_login("dependabot[bot]"));
    assert!(is_bot_login("gangway[bot]"));
    assert!(!is_bot_login("bot"));
    assert!(!is_bot_login("robot-builder"));
}
