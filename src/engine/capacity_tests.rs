use super::*;
use crate::model::DriverKind;
use crate::types::{CommitSha, RepoId};

fn preview(id: i64, pr: u64, created_at: i64, deployed_at: Option<i64>) -> Preview {
    Preview {
        id,
        repo_id: RepoId(1),
        pr_number: PrNumber(pr),
        sha: CommitSha::parse(&format!("{:040x}", id)).unwrap(),
        environment: format!("pr-{pr}"),
        host: format!("pr-{pr}.example.org"),
        driver: DriverKind::Command,
        deployment_id: None,
        create_attempted: true,
        adopted: false,
        state: PreviewState::Live,
        last_status: None,
        environment_url: None,
        detail: None,
        log_token: "t".into(),
        requested_by: "ann".into(),
        created_at,
        deployed_at,
        torn_down_at: None,
        teardown_kind: None,
    }
}

fn evicted(previews: &[Preview], max: u32) -> Vec<i64> {
    let refs: Vec<&Preview> = previews.iter().collect();
    evictions(&refs, max)
        .into_iter()
        .map(|(_, e)| {
            assert_eq!(e.max_previews, max);
            e.preview_id
        })
        .collect()
}

#[test]
fn within_capacity_nothing_goes() {
    let ps = [preview(1, 1, 0, Some(10)), preview(2, 2, 0, Some(20))];
    assert_eq!(evicted(&ps, 2), Vec::<i64>::new());
    assert_eq!(evicted(&ps, 3), Vec::<i64>::new());
}

#[test]
fn over_capacity_the_least_recently_deployed_go_first() {
    let ps = [
        preview(1, 1, 0, Some(300)),
        preview(2, 2, 0, Some(100)),
        preview(3, 3, 0, Some(200)),
        // Never deployed: its creation counts.
        preview(4, 4, 150, None),
    ];
    assert_eq!(evicted(&ps, 2), vec![2, 4]);
    assert_eq!(evicted(&ps, 0), vec![2, 4, 3, 1]);
    let refs: Vec<&Preview> = ps.iter().collect();
    assert_eq!(evictions(&refs, 3)[0].0, PrNumber(2), "the PR is named");
}

#[test]
fn equally_old_previews_go_oldest_record_first() {
    let ps = [preview(9, 1, 0, Some(5)), preview(3, 2, 0, Some(5))];
    assert_eq!(evicted(&ps, 1), vec![3]);
}

#[test]
fn only_up_previews_of_open_prs_take_a_place() {
    let mut p = preview(1, 1, 0, None);
    for (state, counts) in [
        (PreviewState::Pending, true),
        (PreviewState::Deploying, true),
        (PreviewState::Live, true),
        (PreviewState::Failed, false),
        (PreviewState::TearingDown, false),
        (PreviewState::TornDown, false),
    ] {
        p.state = state;
        assert_eq!(takes_place(&p, true), counts, "{state:?}");
        assert!(!takes_place(&p, false), "{state:?} of a closed PR");
    }
}

#[test]
fn a_removed_repository_or_a_gone_installation_cuts_its_previews_off() {
    let removed = Lost {
        repositories: &[5],
        installations: &[],
    };
    assert!(removed.cuts_off(5, 1));
    assert!(
        !removed.cuts_off(6, 1),
        "the installation's other repositories stay"
    );
    let gone = Lost {
        repositories: &[],
        installations: &[1],
    };
    assert!(gone.cuts_off(5, 1) && gone.cuts_off(6, 1));
    assert!(!gone.cuts_off(5, 2));
    assert!(!Lost::default().cuts_off(5, 1));
}

#[test]
fn places_are_counted_per_repository_among_up_previews_of_open_prs() {
    let mut other_repo = preview(2, 1, 0, Some(10));
    other_repo.repo_id = RepoId(2);
    let mut failed = preview(3, 3, 0, None);
    failed.state = PreviewState::Failed;
    let closed = preview(4, 4, 0, Some(10));
    let open = preview(1, 1, 0, Some(10));
    let by_repo = places([
        (&open, true),
        (&other_repo, true),
        (&failed, true),
        (&closed, false),
    ]);
    let ids: Vec<(RepoId, Vec<i64>)> = by_repo
        .into_iter()
        .map(|(r, ps)| (r, ps.iter().map(|p| p.id).collect()))
        .collect();
    assert_eq!(ids, vec![(RepoId(1), vec![1]), (RepoId(2), vec![2])]);
}

#[test]
fn a_prs_evaluation_carries_one_eviction_the_most_recently_deployed_of_its_own() {
    // PR 1 has two previews over capacity (an older commit's in its grace period and the
    // head's); PR 2 one. Repository 2 is within its capacity.
    let (old_head, new_head, pr2) = (
        preview(1, 1, 0, Some(100)),
        preview(2, 1, 0, Some(300)),
        preview(3, 2, 0, Some(200)),
    );
    let mut elsewhere = preview(4, 1, 0, Some(50));
    elsewhere.repo_id = RepoId(2);
    let repo1 = [&old_head, &new_head, &pr2];
    let repo2 = [&elsewhere];
    let by_pr = evictions_by_pr([(RepoId(1), &repo1[..], 0), (RepoId(2), &repo2[..], 1)]);
    let chosen: Vec<((RepoId, PrNumber), i64)> =
        by_pr.into_iter().map(|(k, e)| (k, e.preview_id)).collect();
    assert_eq!(
        chosen,
        vec![((RepoId(1), PrNumber(1)), 2), ((RepoId(1), PrNumber(2)), 3)]
    );
}

#[test]
fn capacity_is_the_cached_policys_or_the_default() {
    let default = crate::policy::PreviewPolicy::default().max_previews;
    assert_eq!(max_previews(None), default);
    assert_eq!(max_previews(Some("preview:\n  max_previews: 3\n")), 3);
    assert_eq!(
        max_previews(Some("preview:\n  max_previews: many\n")),
        default,
        "an invalid policy deploys nothing; its capacity is moot"
    );
    assert_eq!(max_previews(Some("")), default);
}

#[test]
fn a_cut_off_preview_needs_the_driver_only_if_its_command_deploy_ran() {
    let mut p = preview(1, 1, 0, Some(10));
    for (status, runs) in [
        (Some("success"), true),
        (Some("failure"), true),
        (Some("in_progress"), true),
        (Some("queued"), false),
        (Some("inactive"), false),
        (None, false),
    ] {
        p.last_status = status.map(str::to_owned);
        assert_eq!(
            offline_teardown_runs_driver(&p, true),
            Some(runs),
            "{status:?}"
        );
    }
    p.last_status = Some("success".into());
    p.driver = DriverKind::External;
    assert_eq!(
        offline_teardown_runs_driver(&p, true),
        Some(false),
        "an outside deployer's preview is theirs to remove"
    );
    p.state = PreviewState::TornDown;
    assert_eq!(
        offline_teardown_runs_driver(&p, true),
        None,
        "nothing left to do"
    );
}

#[test]
fn a_cut_off_preview_is_recorded_as_torn_down_for_lost_access() {
    let gone = torn_down_offline(&preview(1, 1, 0, Some(10)), 500);
    assert_eq!(gone.state, PreviewState::TornDown);
    assert_eq!(gone.teardown_kind, Some(TeardownKind::LostAccess));
    assert_eq!(
        gone.detail.as_deref(),
        Some("Gangway lost access to the repository")
    );
    assert_eq!(gone.torn_down_at, Some(500));
    assert_eq!((gone.id, gone.deployed_at), (1, Some(10)));
}

#[test]
fn an_eviction_takes_down_the_named_preview_only_while_it_is_up() {
    let mut previews = vec![preview(1, 1, 0, Some(10)), preview(2, 1, 0, Some(20))];
    let eviction = Eviction {
        preview_id: 2,
        max_previews: 1,
        slot_taken: None,
    };
    assert_eq!(still_evicted(&previews, &eviction).map(|p| p.id), Some(2));
    previews[1].state = PreviewState::TearingDown;
    assert_eq!(still_evicted(&previews, &eviction), None, "already going");
    previews[1].state = PreviewState::Pending;
    assert_eq!(still_evicted(&previews, &eviction).map(|p| p.id), Some(2));
    assert_eq!(
        still_evicted(&previews[..1], &eviction),
        None,
        "gone meanwhile"
    );
}

#[test]
fn any_teardown_runs_the_driver_only_if_its_command_deploy_ran() {
    let mut p = preview(1, 1, 0, Some(10));
    p.state = PreviewState::TearingDown;
    for (status, runs) in [
        (Some("success"), true),
        (Some("failure"), true),
        (Some("in_progress"), true),
        (Some("queued"), false),
        (Some("inactive"), false),
        (None, false),
    ] {
        p.last_status = status.map(str::to_owned);
        assert_eq!(teardown_runs_driver(&p, true), runs, "{status:?}");
    }
    p.last_status = Some("success".into());
    assert!(
        !teardown_runs_driver(&p, false),
        "a host someone else serves from is never torn down"
    );
    assert_eq!(offline_teardown_runs_driver(&p, false), Some(false));
    p.driver = DriverKind::External;
    assert!(
        !teardown_runs_driver(&p, true),
        "an outside deployer's preview is theirs to remove"
    );
}
