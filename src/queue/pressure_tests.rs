use super::*;

#[test]
fn a_lone_delivery_is_no_burst() {
    let p = IngestPressure::default();
    p.committed(0);
    p.committed(1);
    assert_eq!(p.remaining(), None);
}

#[test]
fn a_batched_commit_holds_for_a_while_and_then_clears() {
    let p = IngestPressure::default();
    p.committed(5);
    let left = p.remaining().expect("burst on");
    assert!(left <= HOLD && left > HOLD / 2, "{left:?}");
    let started = Instant::now();
    while p.remaining().is_some() {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(started.elapsed() >= left.saturating_sub(Duration::from_millis(5)));
}

#[tokio::test]
async fn calm_returns_once_the_hold_is_over() {
    let p = IngestPressure::default();
    p.committed(3);
    let started = Instant::now();
    p.calm().await;
    assert!(p.remaining().is_none());
    assert!(started.elapsed() >= HOLD / 2, "{:?}", started.elapsed());
}
