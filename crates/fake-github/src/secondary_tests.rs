use super::*;

fn enforcer(limits: SecondaryLimits) -> Enforcer {
    Enforcer {
        limits,
        usage: HashMap::new(),
        report: SecondaryReport::default(),
    }
}

#[test]
fn writes_past_the_minute_and_hour_limits_are_refused_with_retry_after() {
    let mut e = enforcer(SecondaryLimits {
        writes_per_minute: 3,
        writes_per_hour: 5,
        ..SecondaryLimits::default()
    });
    let t0 = Instant::now();
    for i in 0..3 {
        assert_eq!(e.admit(1, true, t0 + Duration::from_secs(i)), Ok(()));
    }
    // The 4th write within the minute: refused until the first leaves the window.
    assert_eq!(e.admit(1, true, t0 + Duration::from_secs(10)), Err(50));
    // Reads and other installations are not writes of installation 1.
    assert_eq!(e.admit(1, false, t0 + Duration::from_secs(10)), Ok(()));
    assert_eq!(e.admit(2, true, t0 + Duration::from_secs(10)), Ok(()));
    assert_eq!(e.admit(1, true, t0 + Duration::from_secs(61)), Ok(()));
    assert_eq!(e.admit(1, true, t0 + Duration::from_secs(122)), Ok(()));
    // Five in the hour: the sixth waits for the first to be an hour old.
    assert_eq!(
        e.admit(1, true, t0 + Duration::from_secs(200)),
        Err(3600 - 200)
    );
    assert_eq!(e.admit(1, true, t0 + Duration::from_secs(3600)), Ok(()));
    let r = &e.report;
    assert_eq!((r.refused_writes, r.refused_concurrency), (2, 0));
    assert_eq!((r.max_writes_per_minute, r.max_writes_per_hour), (3, 5));
}

#[test]
fn requests_past_the_concurrency_limit_are_refused() {
    let mut e = enforcer(SecondaryLimits {
        max_concurrent: 2,
        ..SecondaryLimits::default()
    });
    let now = Instant::now();
    assert_eq!(e.admit(1, false, now), Ok(()));
    assert_eq!(e.admit(1, false, now), Ok(()));
    assert_eq!(e.admit(1, false, now), Err(1));
    e.usage.get_mut(&1).unwrap().in_flight -= 1;
    assert_eq!(e.admit(1, false, now), Ok(()));
    assert_eq!(e.report.refused(), 1);
    assert_eq!(e.report.max_in_flight, 2);
}
