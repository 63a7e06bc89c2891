use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::store::StoreError;

async fn probe(
    probe: &ReadyProbe,
    runs: &Arc<AtomicUsize>,
    ok: bool,
    failing: bool,
) -> Result<(), String> {
    let runs = runs.clone();
    probe
        .run(
            move || async move {
                runs.fetch_add(1, Ordering::SeqCst);
                if ok {
                    Ok(())
                } else {
                    Err(StoreError::Invalid("disk full".into()))
                }
            },
            move || failing,
        )
        .await
}

#[tokio::test]
async fn a_flood_of_readiness_checks_writes_one_probe_a_second() {
    let p = Arc::new(ReadyProbe::default());
    let runs = Arc::new(AtomicUsize::new(0));
    let calls = (0..200).map(|_| {
        let (p, runs) = (p.clone(), runs.clone());
        async move { probe(&p, &runs, true, false).await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "one probe for 200 concurrent checks"
    );
}

#[tokio::test]
async fn a_success_is_not_reused_once_a_write_has_failed_and_a_failure_is_kept_for_the_second() {
    let p = ReadyProbe::default();
    let runs = Arc::new(AtomicUsize::new(0));
    assert!(probe(&p, &runs, true, false).await.is_ok());
    // A write failed since: the cached success is not trusted, the probe runs again.
    assert_eq!(
        probe(&p, &runs, false, true).await,
        Err("disk full".to_owned())
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // A failure within the second is answered from the last result.
    assert_eq!(
        probe(&p, &runs, true, true).await,
        Err("disk full".to_owned())
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failure_is_not_reused_once_a_write_has_succeeded() {
    let p = ReadyProbe::default();
    let runs = Arc::new(AtomicUsize::new(0));
    assert!(probe(&p, &runs, false, true).await.is_err());
    // Writes succeed again (the health no longer says failing): recovery shows at once, not
    // after the second a cached failure would last.
    assert!(probe(&p, &runs, true, false).await.is_ok());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}
