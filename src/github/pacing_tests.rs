use super::*;

/// The most requests in any window of `window` among sorted instants.
fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for (end, t) in times.iter().enumerate() {
        while *t - times[start] >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

#[test]
fn github_com_is_paced_and_other_servers_only_capped() {
    assert_eq!(
        PacingSettings::for_api_url("https://api.github.com"),
        PacingSettings::default()
    );
    assert_eq!(
        PacingSettings::for_api_url("https://api.octo.ghe.com/"),
        PacingSettings::default()
    );
    for other in [
        "http://127.0.0.1:4000",
        "https://github.example.org/api/v3",
        "https://api.github.com.evil.example",
    ] {
        assert_eq!(
            PacingSettings::for_api_url(other),
            PacingSettings::concurrency_only(),
            "{other}"
        );
    }
}

#[test]
fn the_setting_overrides_the_guess_from_the_url() {
    use crate::config::PacingMode;
    let local = "http://127.0.0.1:4000";
    assert_eq!(
        PacingSettings::for_mode(PacingMode::Auto, local),
        PacingSettings::concurrency_only()
    );
    assert_eq!(
        PacingSettings::for_mode(PacingMode::Github, local),
        PacingSettings::default()
    );
    assert_eq!(
        PacingSettings::for_mode(PacingMode::Concurrency, "https://api.github.com"),
        PacingSettings::concurrency_only()
    );
}

#[test]
fn default_limits_keep_under_githubs() {
    for l in [MINUTE, HOUR] {
        let q = l.quota().unwrap();
        let steady = l.window.as_secs_f64() / q.replenish_interval().as_secs_f64();
        let most = f64::from(q.burst_size().get()) + steady.floor();
        assert!(most <= f64::from(l.limit), "{l:?}: {most}");
    }
    const { assert!(MINUTE.limit < GITHUB_WRITES_PER_MINUTE && HOUR.limit < GITHUB_WRITES_PER_HOUR) };
}

#[tokio::test]
async fn a_burst_within_the_bucket_passes_at_once_and_the_rest_is_spread() {
    let limit = WriteLimit {
        limit: 12,
        window: Duration::from_millis(600),
        burst: 6,
    };
    let pacing = Arc::new(Pacing::new(PacingSettings {
        max_concurrent: 100,
        writes: vec![limit],
    }));
    let t0 = Instant::now();
    for _ in 0..6 {
        drop(pacing.admit(InstallationId(1), &Method::POST).await);
    }
    assert!(t0.elapsed() < Duration::from_millis(50), "the burst waited");
    // Reads and other installations are not held back by one installation's writes.
    for _ in 0..20 {
        drop(pacing.admit(InstallationId(1), &Method::GET).await);
    }
    for _ in 0..6 {
        drop(pacing.admit(InstallationId(2), &Method::DELETE).await);
    }
    assert!(t0.elapsed() < Duration::from_millis(50), "reads waited");

    let mut sent = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let pacing = pacing.clone();
        tasks.spawn(async move {
            drop(pacing.admit(InstallationId(3), &Method::PATCH).await);
            Instant::now()
        });
    }
    while let Some(t) = tasks.join_next().await {
        sent.push(t.unwrap());
    }
    sent.sort();
    // 6 at once, then one per 100 ms: the 12th after about 600 ms, never more than 12 per 600 ms.
    let span = sent[11] - sent[0];
    assert!(span >= Duration::from_millis(550), "{span:?}");
    assert!(max_in_window(&sent, limit.window) <= 12);
    let stats = pacing.stats();
    assert!(stats.delayed >= 5, "{stats:?}");
    assert_eq!((stats.calls, stats.writes), (6 + 20 + 6 + 12, 6 + 6 + 12));
}

/// Against the fake GitHub enforcing its secondary limits (windows shortened to keep the
/// test short): a burst of writes is refused unpaced, and paced it all goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_writes_are_never_refused_where_unpaced_ones_are() {
    use fake_github::{FakeConfig, FakeGitHub, SecondaryLimits};
    let fake = FakeGitHub::start(FakeConfig::new(
        4242,
        include_str!("../../fixtures/test-app-key.pub.pem"),
    ))
    .await
    .unwrap();
    fake.add_installation(1, "octo");
    fake.add_repo(1, "octo/app", "main").unwrap();
    let window = Duration::from_millis(400);
    fake.set_secondary_limits(Some(SecondaryLimits {
        writes_per_minute: 8,
        minute: window,
        ..SecondaryLimits::default()
    }));
    let key = secrecy::SecretString::from(include_str!("../../fixtures/test-app-key.pem"));
    let client = |pacing: PacingSettings| {
        GitHub::new(fake.url(), 4242, &key, crate::metrics::Metrics::new())
            .unwrap()
            .with_pacing(pacing)
    };
    let burst = |github: GitHub| async move {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..20 {
            let github = github.clone();
            tasks.spawn(async move {
                let body = serde_json::json!({
                    "ref": "main", "environment": format!("e{i}"),
                    "required_contexts": [], "auto_merge": false,
                });
                let route = "/repos/octo/app/deployments";
                github
                    .request(InstallationId(1), Method::POST, route, Some(&body))
                    .await
                    .is_ok()
            });
        }
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            ok += usize::from(r.unwrap());
        }
        ok
    };
    let refused = 20 - burst(client(PacingSettings::concurrency_only())).await;
    assert!(refused > 0, "the fake enforces nothing");
    assert!(fake.secondary_report().refused() > 0);

    fake.set_secondary_limits(Some(SecondaryLimits {
        writes_per_minute: 8,
        minute: window,
        ..SecondaryLimits::default()
    }));
    let paced = PacingSettings {
        max_concurrent: 100,
        writes: vec![WriteLimit {
            limit: 6,
            window,
            burst: 2,
        }],
    };
    assert_eq!(burst(client(paced)).await, 20, "a paced write was refused");
    let report = fake.secondary_report();
    assert_eq!(report.refused(), 0, "{report:?}");
    assert!(report.max_writes_per_minute <= 8, "{report:?}");
}

/// GitHub's secondary limits count mutations, not queries: a GraphQL query (a POST) must not
/// spend the write budget, even when that budget is spent.
#[tokio::test]
async fn graphql_queries_are_not_paced_as_writes() {
    let pacing = Pacing::new(PacingSettings {
        max_concurrent: 100,
        writes: vec![WriteLimit {
            limit: 2,
            window: Duration::from_secs(3600),
            burst: 1,
        }],
    });
    drop(pacing.admit(InstallationId(1), &Method::POST).await);
    let t0 = Instant::now();
    for _ in 0..50 {
        drop(pacing.admit_as(InstallationId(1), false).await);
    }
    assert!(t0.elapsed() < Duration::from_millis(50), "queries waited");
    let stats = pacing.stats();
    assert_eq!((stats.calls, stats.writes), (51, 1));
    assert!(creates_content(&Method::POST) && !creates_content(&Method::GET));
}

#[tokio::test]
async fn concurrency_is_capped_per_installation() {
    let pacing = Arc::new(Pacing::new(PacingSettings {
        max_concurrent: 2,
        writes: Vec::new(),
    }));
    let a = pacing.admit(InstallationId(1), &Method::GET).await;
    let _b = pacing.admit(InstallationId(1), &Method::GET).await;
    let _other = pacing.admit(InstallationId(2), &Method::GET).await;
    let third = {
        let pacing = pacing.clone();
        tokio::spawn(async move {
            drop(pacing.admit(InstallationId(1), &Method::GET).await);
        })
    };
    tokio::task::yield_now().await;
    assert!(
        !third.is_finished(),
        "a third call went out while two were in flight"
    );
    drop(a);
    third.await.unwrap();
    assert_eq!(pacing.stats().max_in_flight, 2);
}
