//! `POST /webhooks` end to end: a real server on 127.0.0.1, a real database, signed deliveries.

use crate::support;

use std::time::Duration;

use gangway::ingress::events;
use gangway::ingress::signature::sign;
use gangway::jobs::{DeliveryOutcome, JobKind, JobRecord, JobState};
use reqwest::StatusCode;
use support::*;

async fn stored_deliveries(app: &TestApp) -> i64 {
    app.store()
        .delivery_counts()
        .await
        .unwrap()
        .iter()
        .map(|(_, _, n)| n)
        .sum()
}

/// Jobs made from deliveries (the timers' own start-up jobs are not the webhook's doing).
async fn total_jobs(app: &TestApp) -> i64 {
    let jobs = app
        .running
        .as_ref()
        .unwrap()
        .queue()
        .jobs(None)
        .await
        .unwrap();
    jobs.iter().filter(|j| j.delivery_id.is_some()).count() as i64
}

/// Waits until exactly one job is dead, and returns the dead jobs.
async fn one_dead_job(app: &TestApp) -> Vec<JobRecord> {
    let queue = app.running.as_ref().unwrap().queue().clone();
    wait_for("the job dead", Duration::from_secs(10), || {
        let queue = queue.clone();
        async move {
            let dead = queue.jobs(Some(JobState::Dead)).await.ok()?;
            (dead.len() == 1).then_some(dead)
        }
    })
    .await
}

#[tokio::test]
async fn bad_input_matrix_is_refused_stores_nothing_and_server_keeps_serving() {
    let app = TestApp::start().await;
    let body = fixture("pull_request.opened.json");
    let good_sig = sign(SECRET.as_bytes(), &body);
    let big_header = "a".repeat(100 * 1024);
    let oversized = vec![b' '; 25 * 1024 * 1024 + 1];

    struct Case {
        name: &'static str,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        want: StatusCode,
        says: &'static str,
    }
    let h = |sig: &str, event: &str, delivery: &str, ctype: &str| -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if !sig.is_empty() {
            v.push(("x-hub-signature-256", sig.to_owned()));
        }
        if !event.is_empty() {
            v.push(("x-github-event", event.to_owned()));
        }
        if !delivery.is_empty() {
            v.push(("x-github-delivery", delivery.to_owned()));
        }
        if !ctype.is_empty() {
            v.push(("content-type", ctype.to_owned()));
        }
        v
    };
    let json = "application/json";
    let signed = |b: &[u8]| sign(SECRET.as_bytes(), b);
    let cases = vec![
        Case {
            name: "no signature",
            headers: h("", "pull_request", "d1", json),
            body: body.clone(),
            want: StatusCode::UNAUTHORIZED,
            says: "missing X-Hub-Signature-256",
        },
        Case {
            name: "malformed signature",
            headers: h("sha256=zz", "pull_request", "d1", json),
            body: body.clone(),
            want: StatusCode::UNAUTHORIZED,
            says: "malformed",
        },
        Case {
            name: "sha1 signature",
            headers: h(
                &format!("sha1={}", &good_sig[7..47]),
                "pull_request",
                "d1",
                json,
            ),
            body: body.clone(),
            want: StatusCode::UNAUTHORIZED,
            says: "malformed",
        },
        Case {
            name: "other secret",
            headers: h(&sign(b"another secret", &body), "pull_request", "d1", json),
            body: body.clone(),
            want: StatusCode::UNAUTHORIZED,
            says: "does not match",
        },
        Case {
            name: "signature over different bytes",
            headers: h(&good_sig, "pull_request", "d1", json),
            body: [&body[..], b" "].concat(),
            want: StatusCode::UNAUTHORIZED,
            says: "does not match",
        },
        Case {
            name: "100 KB signature header",
            headers: h(&big_header, "pull_request", "d1", json),
            body: body.clone(),
            want: StatusCode::UNAUTHORIZED,
            says: "malformed",
        },
        Case {
            name: "no event header",
            headers: h(&good_sig, "", "d1", json),
            body: body.clone(),
            want: StatusCode::BAD_REQUEST,
            says: "missing X-GitHub-Event",
        },
        Case {
            name: "no delivery header",
            headers: h(&good_sig, "pull_request", "", json),
            body: body.clone(),
            want: StatusCode::BAD_REQUEST,
            says: "missing X-GitHub-Delivery",
        },
        Case {
            name: "100 KB event header",
            headers: h(&good_sig, &big_header, "d1", json),
            body: body.clone(),
            want: StatusCode::BAD_REQUEST,
            says: "not an event name",
        },
        Case {
            name: "100 KB delivery header",
            headers: h(&good_sig, "pull_request", &big_header, json),
            body: body.clone(),
            want: StatusCode::BAD_REQUEST,
            says: "X-GitHub-Delivery must be",
        },
        Case {
            name: "hostile delivery id",
            headers: h(&good_sig, "pull_request", "x'; DROP TABLE jobs;--", json),
            body: body.clone(),
            want: StatusCode::BAD_REQUEST,
            says: "X-GitHub-Delivery must be",
        },
        Case {
            name: "form content type",
            headers: h(
                &good_sig,
                "pull_request",
                "d1",
                "application/x-www-form-urlencoded",
            ),
            body: body.clone(),
            want: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            says: "content type must be application/json",
        },
        Case {
            name: "no content type",
            headers: h(&good_sig, "pull_request", "d1", ""),
            body: body.clone(),
            want: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            says: "content type",
        },
        Case {
            name: "empty body",
            headers: h(&signed(b""), "pull_request", "d1", json),
            body: Vec::new(),
            want: StatusCode::BAD_REQUEST,
            says: "empty body",
        },
        Case {
            name: "malformed JSON",
            headers: h(&signed(b"{\"action\": "), "pull_request", "d1", json),
            body: b"{\"action\": ".to_vec(),
            want: StatusCode::BAD_REQUEST,
            says: "malformed JSON: EOF while parsing",
        },
        Case {
            name: "JSON array",
            headers: h(&signed(b"[1,2]"), "pull_request", "d1", json),
            body: b"[1,2]".to_vec(),
            want: StatusCode::BAD_REQUEST,
            says: "malformed JSON",
        },
        Case {
            name: "invalid UTF-8 in a string",
            headers: h(&signed(b"{\"a\":\"\xff\"}"), "pull_request", "d1", json),
            body: b"{\"a\":\"\xff\"}".to_vec(),
            want: StatusCode::BAD_REQUEST,
            says: "not UTF-8",
        },
        Case {
            name: "over 25 MiB",
            headers: h(&signed(&oversized), "pull_request", "d1", json),
            body: oversized.clone(),
            want: StatusCode::PAYLOAD_TOO_LARGE,
            says: "",
        },
    ];

    for case in cases {
        let mut req = app.http.post(app.url("/webhooks")).body(case.body);
        for (k, v) in &case.headers {
            req = req.header(*k, v);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, case.want, "{}: {text}", case.name);
        assert!(
            text.contains(case.says),
            "{}: body {text:?} lacks {:?}",
            case.name,
            case.says
        );
        // Nothing stored, and still serving.
        assert_eq!(
            stored_deliveries(&app).await,
            0,
            "{} stored something",
            case.name
        );
        let health = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK, "{}", case.name);
    }
    assert_eq!(total_jobs(&app).await, 0);

    // Wrong method and unknown paths.
    assert_eq!(
        app.http
            .get(app.url("/webhooks"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        app.http
            .get(app.url("/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // Positive control: a good delivery to the same server is stored and becomes a job.
    let good = app
        .deliver(
            "installation",
            "good-1",
            &fixture("installation.created.json"),
        )
        .await;
    assert_eq!(good.status(), StatusCode::ACCEPTED);
    assert_eq!(stored_deliveries(&app).await, 1);
    assert_eq!(total_jobs(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn signature_from_a_rotated_secret_is_accepted() {
    let app = TestApp::start_with(
        "http://127.0.0.1:9",
        &[("WEBHOOK_SECRET", "brand-new,test-webhook-secret")],
    )
    .await;
    let body = fixture("pull_request.opened.json");
    let resp = app
        .http
        .post(app.url("/webhooks"))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "rot-1")
        .header("x-hub-signature-256", sign(b"brand-new", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert_eq!(
        app.deliver("pull_request", "rot-2", &body).await.status(),
        StatusCode::ACCEPTED
    );
    app.stop().await;
}

#[tokio::test]
async fn every_fixture_is_accepted_stored_and_decoded() {
    let app = TestApp::start().await;
    let fixtures = all_fixtures();
    assert_eq!(
        fixtures.len(),
        28,
        "every payload in fixtures/github-webhooks"
    );
    for (i, (file, event)) in fixtures.iter().enumerate() {
        let body = fixture(file);
        let delivery = format!("fixture-{i}");
        let resp = app.deliver(event, &delivery, &body).await;
        let want = if event == "ping" {
            StatusCode::OK
        } else {
            StatusCode::ACCEPTED
        };
        assert_eq!(resp.status(), want, "{file}");
        if event == "ping" {
            continue;
        }
        // Decoded by the worker into its typed event: the stored outcome says which.
        let store = app.store().clone();
        let record = wait_for(
            &format!("{file} processed"),
            Duration::from_secs(10),
            || {
                let store = store.clone();
                let delivery = delivery.clone();
                async move {
                    store
                        .delivery(&delivery)
                        .await
                        .unwrap()
                        .filter(|d| d.outcome != DeliveryOutcome::Queued)
                }
            },
        )
        .await;
        assert_eq!(
            record.outcome,
            DeliveryOutcome::Processed,
            "{file}: {:?}",
            record.detail
        );
        assert_eq!(
            record.payload.as_bytes(),
            &body[..],
            "{file}: payload stored verbatim"
        );
        let typed = events::decode(event, &body).unwrap().unwrap();
        let detail = record.detail.unwrap_or_default();
        assert!(
            detail.starts_with(&typed.summary()),
            "{file}: {detail:?} does not start with {:?}",
            typed.summary()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn duplicate_delivery_is_acknowledged_and_processed_once() {
    let app = TestApp::start().await;
    let body = fixture("installation.created.json");
    assert_eq!(
        app.deliver("installation", "dup-1", &body).await.status(),
        StatusCode::ACCEPTED
    );
    let again = app.deliver("installation", "dup-1", &body).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().contains("duplicate"));
    let queue = app.running.as_ref().unwrap().queue().clone();
    wait_for("job done", Duration::from_secs(10), || {
        let queue = queue.clone();
        async move {
            let jobs = queue.jobs(Some(JobState::Done)).await.ok()?;
            jobs.iter()
                .any(|j| j.delivery_id.as_deref() == Some("dup-1"))
                .then_some(())
        }
    })
    .await;
    let jobs = queue.jobs(None).await.unwrap();
    assert_eq!(
        jobs.iter()
            .filter(|j| j.delivery_id.as_deref() == Some("dup-1"))
            .count(),
        1,
        "one job for one delivery id"
    );
    app.stop().await;
}

#[tokio::test]
async fn ping_and_unhandled_events_are_acknowledged() {
    let app = TestApp::start().await;
    let ping = app.deliver("ping", "p-1", &fixture("ping.json")).await;
    assert_eq!(ping.status(), StatusCode::OK);
    assert!(ping.text().await.unwrap().contains("pong"));

    let star = app
        .deliver(
            "star",
            "star-1",
            br#"{"action":"created","repository":{"id":5}}"#,
        )
        .await;
    assert_eq!(star.status(), StatusCode::OK);
    assert!(star.text().await.unwrap().contains("ignored"));
    let rec = app.store().delivery("star-1").await.unwrap().unwrap();
    assert_eq!(
        (rec.event.as_str(), rec.outcome, rec.payload.as_str()),
        ("star", DeliveryOutcome::Ignored, "")
    );
    assert_eq!(total_jobs(&app).await, 0, "ignored events make no job");
    // Positive control: a handled event on the same server does make one.
    let handled = app
        .deliver(
            "installation",
            "inst-1",
            &fixture("installation.created.json"),
        )
        .await;
    assert_eq!(handled.status(), StatusCode::ACCEPTED);
    assert_eq!(total_jobs(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_payload_that_cannot_be_decoded_is_kept_with_the_reason() {
    let app = TestApp::start().await;
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("pull_request.opened.json")).unwrap();
    v["pull_request"]["head"]["sha"] = "not-a-sha".into();
    let body = serde_json::to_vec(&v).unwrap();
    assert_eq!(
        app.deliver("pull_request", "bad-sha", &body).await.status(),
        StatusCode::ACCEPTED
    );
    let store = app.store().clone();
    let rec = wait_for("delivery failed", Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            store
                .delivery("bad-sha")
                .await
                .unwrap()
                .filter(|d| d.outcome == DeliveryOutcome::Failed)
        }
    })
    .await;
    assert!(rec.detail.unwrap().contains("pull_request.head.sha"));
    let dead = one_dead_job(&app).await;
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("40 lowercase hex"),
        "{:?}",
        dead[0]
    );
    app.stop().await;
}

/// A stored payload that no longer decompresses (a damaged row) fails its delivery with the
/// reason and what to do, and kills the job: no panic, no retry loop.
#[tokio::test]
async fn a_damaged_stored_payload_fails_the_delivery_with_the_reason() {
    use gangway::jobs::{DeliveryPayload, JobKey, NewJob};
    use gangway::store::NewDelivery;
    use gangway::store::compress::Compressed;
    use gangway::types::DeliveryId;
    use gangway::types::{PrNumber, RepoId};

    let db = TestDb::new().await;
    let store = db.store().await;
    let id = DeliveryId::parse("damaged-1").unwrap();
    let payload = Compressed::new(&fixture("pull_request.opened.json"));
    let delivery = NewDelivery {
        id: &id,
        event: "pull_request",
        action: Some("opened"),
        installation_id: Some(1),
        repo_id: Some(2),
        payload: &payload,
        outcome: DeliveryOutcome::Queued,
        detail: None,
    };
    let job = NewJob::of(&DeliveryPayload {
        delivery_id: "damaged-1".into(),
        key: JobKey::pull(RepoId(2), PrNumber(2)),
    })
    .unwrap();
    // Received now: the retention sweep must not purge it before it is looked at.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    store
        .ingest(&delivery, Some(&job), 3, now_ms)
        .await
        .unwrap();
    store.close().await;
    // Half the compressed bytes, as a torn or damaged row would leave them.
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE deliveries SET payload_compressed = $1 WHERE id = 'damaged-1'")
        .bind(payload.as_bytes()[..payload.len() / 2].to_vec())
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let app = TestApp::start_on(
        db,
        "http://127.0.0.1:9",
        &[],
        std::sync::Arc::new(gangway::clock::SystemClock),
    )
    .await;
    let store = app.store().clone();
    wait_for("delivery failed", Duration::from_secs(10), || {
        let store = store.clone();
        async move {
            // The record no longer reads (that is the point): ask for its outcome alone.
            let counts = store.delivery_counts().await.ok()?;
            counts
                .iter()
                .any(|(_, outcome, _)| *outcome == DeliveryOutcome::Failed)
                .then_some(())
        }
    })
    .await;
    let dead = one_dead_job(&app).await;
    let error = dead[0].last_error.as_deref().unwrap_or("");
    assert!(
        error.contains("damaged-1") && error.contains("corrupt") && error.contains("redeliver"),
        "{error}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_thousand_concurrent_deliveries_are_all_stored_and_processed() {
    let app = TestApp::start().await;
    let body = std::sync::Arc::new(fixture("pull_request.opened.json"));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let (http, url, body) = (app.http.clone(), app.url("/webhooks"), body.clone());
        tasks.spawn(async move {
            http.post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "pull_request")
                .header("x-github-delivery", format!("load-{i}"))
                .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
                .body(body.to_vec())
                .send()
                .await
                .map(|r| r.status())
        });
    }
    let mut accepted = 0;
    while let Some(r) = tasks.join_next().await {
        assert_eq!(r.unwrap().unwrap(), StatusCode::ACCEPTED);
        accepted += 1;
    }
    assert_eq!(accepted, 1000);
    assert_eq!(stored_deliveries(&app).await, 1000);
    let store = app.store().clone();
    wait_for("all 1000 processed", Duration::from_secs(120), || {
        let store = store.clone();
        async move {
            let counts = store.delivery_counts().await.unwrap();
            counts
                .iter()
                .any(|(_, o, n)| *o == DeliveryOutcome::Processed && *n == 1000)
                .then_some(())
        }
    })
    .await;
    // A job records its delivery's outcome and then finishes in a commit of its own: the last
    // few may still be finishing when the outcomes are all in.
    let queue = app.running.as_ref().unwrap().queue().clone();
    wait_for(
        "all 1000 delivery jobs done",
        Duration::from_secs(30),
        || {
            let queue = queue.clone();
            async move {
                let done = queue.jobs(Some(JobState::Done)).await.ok()?;
                (done
                    .iter()
                    .filter(|j| j.kind() == Ok(JobKind::Delivery))
                    .count()
                    == 1000)
                    .then_some(())
            }
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::start().await;
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.deliver("installation", "m-1", &fixture("installation.created.json"))
        .await;
    app.deliver("installation", "m-1", &fixture("installation.created.json"))
        .await;
    app.http
        .post(app.url("/webhooks"))
        .body("x")
        .send()
        .await
        .unwrap();
    // The job's row says done a moment before its metrics are counted: wait for the metric.
    let text = wait_for(
        "the delivery job counted",
        Duration::from_secs(10),
        || async {
            let text = app
                .http
                .get(app.url("/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains("gangway_jobs_finished_total{kind=\"delivery\",outcome=\"done\"} 1")
                .then_some(text)
        },
    )
    .await;
    for want in [
        "gangway_webhook_deliveries_total{event=\"installation\",outcome=\"queued\"} 1",
        "gangway_webhook_deliveries_total{event=\"installation\",outcome=\"duplicate\"} 1",
        "gangway_webhook_deliveries_total{event=\"unknown\",outcome=\"bad_signature\"} 1",
        "gangway_jobs{state=\"done\"} ",
        "gangway_jobs{state=\"queued\"} ",
        "gangway_jobs_finished_total{kind=\"delivery\",outcome=\"done\"} 1",
        "gangway_job_duration_seconds_count{kind=\"delivery\"} 1",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    app.stop().await;
}

#[tokio::test]
async fn readyz_fails_when_the_schema_is_behind() {
    let app = TestApp::start().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.db.url).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations")
        .execute(&pool)
        .await
        .unwrap();
    let resp = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.text().await.unwrap().contains("gangway migrate"));
    pool.close().await;
    app.stop().await;
}

/// GitHub reports the App's own API calls back to it (its deployments, statuses, comments):
/// those are stored, answered at once and get no job; the same event by anyone else is work.
#[tokio::test]
async fn the_apps_own_actions_reported_back_are_stored_without_a_job() {
    let app = TestApp::start().await;
    let with_app = |id: u64| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&fixture("deployment_status.created.json")).unwrap();
        v["deployment_status"]["performed_via_github_app"] =
            serde_json::json!({ "id": id, "slug": "some-app" });
        serde_json::to_vec(&v).unwrap()
    };
    let jobs_before = total_jobs(&app).await;
    let own = app
        .deliver("deployment_status", "echo-1", &with_app(APP_ID))
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    assert!(own.text().await.unwrap().contains("ignored"));
    let rec = app.store().delivery("echo-1").await.unwrap().unwrap();
    assert_eq!(rec.outcome, DeliveryOutcome::Ignored);
    assert!(
        rec.detail
            .as_deref()
            .unwrap_or("")
            .contains("Gangway's own"),
        "{:?}",
        rec.detail
    );
    assert_eq!(total_jobs(&app).await, jobs_before, "no job for an echo");

    let theirs = app
        .deliver("deployment_status", "echo-2", &with_app(APP_ID + 1))
        .await;
    assert_eq!(theirs.status(), StatusCode::ACCEPTED);
    assert_eq!(
        total_jobs(&app).await,
        jobs_before + 1,
        "another App's status is work"
    );
    app.stop().await;
}
