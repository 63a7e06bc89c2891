use super::*;

#[test]
fn every_stored_name_reads_back_as_itself() {
    for k in JobKind::ALL {
        assert_eq!(JobKind::from_stored(k.as_str()), Ok(*k));
    }
    for s in JobState::ALL {
        assert_eq!(JobState::parse(s.as_str()), Some(*s));
    }
    for o in DeliveryOutcome::ALL {
        assert_eq!(DeliveryOutcome::parse(o.as_str()), Some(*o));
    }
    assert_eq!(
        JobKind::from_stored("deploy").unwrap_err().to_string(),
        "unknown job kind \"deploy\""
    );
}

#[test]
fn payloads_are_stored_as_earlier_versions_stored_them() {
    let repo = RepoRef {
        id: RepoId(5),
        installation: InstallationId(9),
        full_name: "o/r".into(),
        default_branch: "main".into(),
    };
    let eval = NewJob::of(&EvaluatePayload::of(&repo, PrNumber(7), "ann")).unwrap();
    assert_eq!((eval.kind.as_str(), eval.key.as_str()), ("evaluate", "5#7"));
    assert_eq!(eval.priority, 0);
    let train = NewJob::of(&TrainPayload::of(&repo)).unwrap().at(42);
    assert_eq!(train.key.as_str(), "5#train");
    assert_eq!((train.run_at_ms, train.priority), (Some(42), BACKGROUND));
    assert_eq!(
        JobKey::environment(RepoId(5), "staging").as_str(),
        "5#env:staging"
    );
    assert_eq!(JobKey::reconcile_repo(RepoId(5)).as_str(), "reconcile:5");
    let reconcile = NewJob::of(&ReconcilePayload).unwrap();
    assert_eq!(
        (reconcile.key.as_str(), reconcile.payload.as_str()),
        ("reconcile", "")
    );
    let redeliver = NewJob::of(&RedeliverPayload { since_ms: 1234 }).unwrap();
    assert_eq!(redeliver.payload, "1234");
    let delivery = NewJob::of(&DeliveryPayload {
        delivery_id: "d-1".into(),
        key: JobKey::repository(RepoId(5)),
    })
    .unwrap();
    assert_eq!(delivery.payload, r#"{"delivery_id":"d-1"}"#);
    assert_eq!(delivery.key.as_str(), "5");
}

#[test]
fn a_job_decodes_only_as_its_own_kind() {
    let job = Job {
        id: 1,
        kind: JobKind::Redeliver,
        key: JobKey::redeliver(),
        payload: "77".into(),
        attempts: 1,
        max_attempts: 3,
        delivery_id: None,
    };
    assert_eq!(
        job.decode::<RedeliverPayload>(),
        Ok(RedeliverPayload { since_ms: 77 })
    );
    assert!(job.decode::<ReconcilePayload>().is_err());
    let bad = Job {
        payload: "soon".into(),
        ..job
    };
    assert!(matches!(
        bad.decode::<RedeliverPayload>(),
        Err(JobPayloadError::Decode {
            kind: JobKind::Redeliver,
            ..
        })
    ));
}

#[test]
fn a_command_job_stored_before_the_dashboard_is_a_comment_and_a_dashboard_one_says_so() {
    let old = r#"{"repo_id":1,"installation":2,"full_name":"o/r","default_branch":null,"number":3,
        "comment_id":4,"comment_url":"u","author":"a","command":{"Ok":"stage"}}"#;
    let c = CommandPayload::decode(old).unwrap();
    assert_eq!(c.origin, CommandOrigin::Comment);
    let dash = CommandPayload {
        origin: CommandOrigin::Dashboard { action: 9 },
        ..c
    };
    let again = CommandPayload::decode(&dash.encode().unwrap()).unwrap();
    assert_eq!(again.origin, CommandOrigin::Dashboard { action: 9 });
    assert_eq!(again, dash);
}
