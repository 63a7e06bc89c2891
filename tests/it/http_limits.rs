//! Hostile HTTP traffic against a real server on 127.0.0.1: slowloris (connections trickling
//! header or body bytes), connection and request floods, oversized `Content-Length` and chunked
//! bodies, and read floods (`GET /metrics`, `/readyz`) during a burst of signed deliveries.
//! Webhook acknowledgements and `/healthz` keep answering; excess is answered 503 with
//! `Retry-After` or closed, never left hanging. See docs/security.md.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gangway::ingress::signature::sign;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A signed `installation` delivery: handled, so a 202 means stored with its job.
fn delivery_body() -> Vec<u8> {
    fixture("installation.created.json")
}

/// Posts a signed delivery on a fresh connection; its status and how long it took.
async fn deliver_timed(app: &TestApp, id: &str) -> (u16, Duration) {
    let body = delivery_body();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let status = client
        .post(app.url("/webhooks"))
        .header("content-type", "application/json")
        .header("x-github-event", "installation")
        .header("x-github-delivery", id)
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, started.elapsed())
}

/// The head of a signed webhook request whose body is sent by the caller.
fn webhook_head(content_length: usize, body: &[u8]) -> String {
    format!(
        "POST /webhooks HTTP/1.1\r\nHost: gangway\r\nContent-Type: application/json\r\nX-GitHub-Event: installation\r\nX-GitHub-Delivery: slow-{}\r\nX-Hub-Signature-256: {}\r\nContent-Length: {content_length}\r\n\r\n",
        rand::random::<u32>(),
        sign(SECRET.as_bytes(), body)
    )
}

/// Reads what the server sends until it closes the connection (or `limit` passes): the bytes,
/// and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// A connection that sends `bytes` one at a time, one every `every`, until the server closes it:
/// how long after connecting it was closed (`None`: still open after `limit`).
async fn trickle(
    addr: std::net::SocketAddr,
    bytes: Vec<u8>,
    every: Duration,
    limit: Duration,
    connected: Arc<AtomicUsize>,
) -> Option<Duration> {
    let started = Instant::now();
    let Ok(stream) = TcpStream::connect(addr).await else {
        return Some(Duration::ZERO);
    };
    connected.fetch_add(1, Ordering::SeqCst);
    let (mut rd, mut wr) = stream.into_split();
    let writer = async move {
        for b in bytes.iter().cycle() {
            if wr.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(every).await;
        }
        std::future::pending::<()>().await
    };
    let closed = async move {
        let mut buf = [0u8; 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        _ = writer => None,
        _ = closed => Some(started.elapsed()),
        _ = tokio::time::sleep(limit) => None,
    }
}

/// Slowloris: 1,000 connections trickle header bytes and 50 trickle a signed delivery's body,
/// one byte every 200 ms. Meanwhile `/healthz` and signed deliveries are answered at once (202),
/// and the server closes every trickling connection once its header or body read timeout (2 s
/// here) has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_trickling_connections_are_closed_and_deliveries_still_answered() {
    let app = TestApp::start_with(
        "http://127.0.0.1:9",
        &[
            ("GANGWAY_HEADER_TIMEOUT_SECS", "2"),
            ("GANGWAY_BODY_TIMEOUT_SECS", "2"),
        ],
    )
    .await;
    let connected = Arc::new(AtomicUsize::new(0));
    let limit = Duration::from_secs(30);
    let mut slow = Vec::new();
    for i in 0..1000 {
        let head = format!("GET /healthz HTTP/1.1\r\nHost: gangway\r\nX-Slow-{i}: ")
            .into_bytes()
            .into_iter()
            .chain(std::iter::repeat_n(b'a', 10_000))
            .collect();
        slow.push(tokio::spawn(trickle(
            app.addr,
            head,
            Duration::from_millis(200),
            limit,
            connected.clone(),
        )));
    }
    let body = delivery_body();
    for _ in 0..50 {
        // The whole head at once, then the body a byte at a time.
        let mut bytes = webhook_head(body.len(), &body).into_bytes();
        let head_len = bytes.len();
        bytes.extend_from_slice(&body);
        let addr = app.addr;
        let connected = connected.clone();
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            let mut s = TcpStream::connect(addr).await.ok()?;
            connected.fetch_add(1, Ordering::SeqCst);
            s.write_all(&bytes[..head_len]).await.ok()?;
            for b in &bytes[head_len..] {
                if s.write_all(&[*b]).await.is_err() {
                    return Some(started.elapsed());
                }
                let mut probe = [0u8; 512];
                match tokio::time::timeout(Duration::from_millis(200), s.read(&mut probe)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                    // Answered 408, then closed.
                    Ok(Ok(n)) => {
                        let answer = String::from_utf8_lossy(&probe[..n]).into_owned();
                        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
                        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
                        return closed.then(|| started.elapsed());
                    }
                    Err(_) => {}
                }
                if started.elapsed() > Duration::from_secs(30) {
                    return None;
                }
            }
            None
        }));
    }
    wait_for(
        "the trickling connections open",
        Duration::from_secs(20),
        || {
            let n = connected.load(Ordering::SeqCst);
            async move { (n >= 1000).then_some(()) }
        },
    )
    .await;

    // Under the flood: health and deliveries answer at once.
    for i in 0..20 {
        let t = Instant::now();
        let health = reqwest::Client::new()
            .get(app.url("/healthz"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(health, 200, "/healthz under slowloris");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "/healthz took {:?}",
            t.elapsed()
        );
        let (status, took) = deliver_timed(&app, &format!("loris-{i}")).await;
        assert_eq!(status, 202, "delivery {i} under slowloris");
        assert!(took < Duration::from_secs(2), "delivery {i} took {took:?}");
        assert!(
            app.store()
                .delivery(&format!("loris-{i}"))
                .await
                .unwrap()
                .is_some()
        );
    }

    // Every trickling connection is closed by the server, none later than its timeout + a
    // margin for 1,050 connections to be accepted on a shared machine (the server and the
    // clients share this test's runtime).
    let mut open = 0;
    let mut latest = Duration::ZERO;
    for t in slow {
        match t.await.unwrap() {
            Some(after) => latest = latest.max(after),
            None => open += 1,
        }
    }
    assert_eq!(open, 0, "trickling connections the server never closed");
    assert!(
        latest < Duration::from_secs(15),
        "the last trickling connection was closed after {latest:?}"
    );
    app.stop().await;
}

/// `Content-Length` beyond the limit: 413 at once, before any of the body is sent, and the
/// connection closed (nothing waits for 25 MB that will never be read).
#[tokio::test]
async fn an_oversized_content_length_is_refused_before_the_body_is_read() {
    let app = TestApp::start().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let head = webhook_head(25 * 1024 * 1024 + 1, b"{}");
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "expected 413 before the body, got {answer:?} after {:?}",
        started.elapsed()
    );
    assert!(closed, "the connection was left open: {answer:?}");
    // A GitHub-sized delivery is still taken.
    assert_eq!(deliver_timed(&app, "after-413").await.0, 202);
    app.stop().await;
}

/// A chunked body that grows past the limit: 413 as soon as the limit is crossed; the server
/// stops reading (the sender cannot push the rest, 100 MB, into it).
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_when_it_crosses_it() {
    let app = TestApp::start().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /webhooks HTTP/1.1\r\nHost: gangway\r\nContent-Type: application/json\r\nX-GitHub-Event: installation\r\nX-GitHub-Delivery: chunked-1\r\nX-Hub-Signature-256: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        sign(SECRET.as_bytes(), b"{}")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 1024 * 1024];
    let mut sent = 0usize;
    let mut refused_at = None;
    while sent < 100 * 1024 * 1024 {
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk.clone(),
            b"\r\n".to_vec(),
        ]
        .concat();
        match tokio::time::timeout(Duration::from_secs(5), s.write_all(&frame)).await {
            Ok(Ok(())) => sent += chunk.len(),
            _ => {
                refused_at = Some(sent);
                break;
            }
        }
    }
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    let refused_at = refused_at.expect("the server read 100 MB of a refused body");
    assert!(
        refused_at < 40 * 1024 * 1024,
        "the server read {refused_at} bytes before refusing"
    );
    assert!(app.store().delivery("chunked-1").await.unwrap().is_none());
    app.stop().await;
}

/// More idle connections than the cap (connected, nothing sent, or half a head): the idle ones
/// are closed to make room, and deliveries are answered 202 at once.
#[tokio::test]
async fn idle_connections_beyond_the_cap_do_not_starve_deliveries() {
    let app =
        TestApp::start_with("http://127.0.0.1:9", &[("GANGWAY_MAX_CONNECTIONS", "100")]).await;
    let mut idle = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        if i % 2 == 0 {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: g")
                .await
                .unwrap();
        }
        idle.push(s);
    }
    for i in 0..20 {
        let (status, took) = deliver_timed(&app, &format!("idle-{i}")).await;
        assert_eq!(status, 202, "delivery {i} beside 300 idle connections");
        assert!(took < Duration::from_secs(2), "delivery {i} took {took:?}");
    }
    // The oldest idle connections were closed by the server.
    let (_, closed) = read_until_closed(&mut idle[0], Duration::from_secs(2)).await;
    assert!(
        closed,
        "the oldest idle connection is still open beyond the cap"
    );
    app.stop().await;
}

/// Every connection slot busy with a request in flight (bodies trickling): a new connection
/// is answered 503 with `Retry-After` at once and closed, not left waiting.
#[tokio::test]
async fn a_new_connection_when_every_slot_is_busy_gets_503_with_retry_after() {
    let app = TestApp::start_with(
        "http://127.0.0.1:9",
        &[
            ("GANGWAY_MAX_CONNECTIONS", "8"),
            ("GANGWAY_BODY_TIMEOUT_SECS", "30"),
        ],
    )
    .await;
    let body = delivery_body();
    let mut busy = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(webhook_head(body.len(), &body).as_bytes())
            .await
            .unwrap();
        s.write_all(&body[..10]).await.unwrap();
        busy.push(s);
    }
    // Let the server read those heads (each is then a request in flight).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: gangway\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: "),
        "{answer:?}"
    );
    assert!(closed, "{answer:?}");
    drop(busy);
    // Slots free again once those connections are gone.
    wait_for(
        "deliveries answered again",
        Duration::from_secs(10),
        || async {
            (deliver_timed(&app, &format!("after-{}", rand::random::<u32>()))
                .await
                .0
                == 202)
                .then_some(())
        },
    )
    .await;
    app.stop().await;
}

/// Webhook requests in flight beyond the cap: 503 with `Retry-After` (nothing stored), while
/// `/healthz`, under its own cap, still answers.
#[tokio::test]
async fn deliveries_beyond_the_in_flight_cap_get_503_with_retry_after() {
    let app = TestApp::start_with(
        "http://127.0.0.1:9",
        &[
            ("GANGWAY_MAX_REQUESTS", "4"),
            ("GANGWAY_BODY_TIMEOUT_SECS", "30"),
        ],
    )
    .await;
    let body = delivery_body();
    let mut busy = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        s.write_all(webhook_head(body.len(), &body).as_bytes())
            .await
            .unwrap();
        busy.push(s);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = test_http_client()
        .post(app.url("/webhooks"))
        .header("content-type", "application/json")
        .header("x-github-event", "installation")
        .header("x-github-delivery", "over-cap")
        .header("x-hub-signature-256", sign(SECRET.as_bytes(), &body))
        .body(body.clone())
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("an answer, not a hang");
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    assert!(app.store().delivery("over-cap").await.unwrap().is_none());
    let health = test_http_client()
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    drop(busy);
    wait_for(
        "deliveries answered again",
        Duration::from_secs(10),
        || async {
            (deliver_timed(&app, &format!("after-{}", rand::random::<u32>()))
                .await
                .0
                == 202)
                .then_some(())
        },
    )
    .await;
    app.stop().await;
}

/// A flood of `GET /metrics` and `GET /readyz` (32 loops) during a burst of 400 signed
/// deliveries: no delivery is answered 503, every 202 is in the store.
#[tokio::test]
async fn a_metrics_and_readyz_flood_never_delays_an_acknowledgement() {
    let app = TestApp::start().await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for i in 0..32 {
        let (url, stop, reads) = (
            app.url(if i % 2 == 0 { "/metrics" } else { "/readyz" }),
            stop.clone(),
            reads.clone(),
        );
        flood.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !stop.load(Ordering::SeqCst) {
                if client.get(&url).send().await.is_ok() {
                    reads.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    let body = delivery_body();
    let sig = sign(SECRET.as_bytes(), &body);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let sends = (0..400).map(|i| {
        let (client, body, sig, url) = (
            client.clone(),
            body.clone(),
            sig.clone(),
            app.url("/webhooks"),
        );
        async move {
            let id = format!("burst-{i}");
            let status = client
                .post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "installation")
                .header("x-github-delivery", &id)
                .header("x-hub-signature-256", sig)
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (id, status)
        }
    });
    let answers: Vec<(String, u16)> = futures::stream::iter(sends)
        .buffer_unordered(32)
        .collect()
        .await;
    stop.store(true, Ordering::SeqCst);
    for f in flood {
        f.await.unwrap();
    }
    let refused: Vec<_> = answers.iter().filter(|(_, s)| *s != 202).collect();
    assert!(
        refused.is_empty(),
        "deliveries not acknowledged under the read flood: {refused:?}"
    );
    for (id, _) in &answers {
        assert!(
            app.store().delivery(id).await.unwrap().is_some(),
            "{id} was answered 202 but is not stored"
        );
    }
    assert!(reads.load(Ordering::SeqCst) > 100, "the flood did not run");
    app.stop().await;
}

use futures::StreamExt;

/// `GANGWAY_METRICS_ADDR`: `/metrics` is served there, and no longer on the public port.
#[tokio::test]
async fn metrics_move_to_their_own_address_when_one_is_set() {
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let app = TestApp::start_with(
        "http://127.0.0.1:9",
        &[("GANGWAY_METRICS_ADDR", metrics_addr.as_str())],
    )
    .await;
    let public = test_http_client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status().as_u16(), 404);
    let private = test_http_client()
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status().as_u16(), 200);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("gangway_database_writes_failing")
    );
    assert_eq!(deliver_timed(&app, "beside-metrics").await.0, 202);
    app.stop().await;
}
