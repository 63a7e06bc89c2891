//! The load generator: signed `POST /webhooks` over real HTTP/1.1 keep-alive connections (hyper's
//! client, one connection per worker), closed-loop (fixed concurrency, as fast as answers come)
//! or open-loop (a fixed arrival rate; latency counted from when a request was due, so a slow
//! answer cannot hide the requests queued behind it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

/// What the requests carry: request `n` is delivery `{prefix}-{n}` about pull request
/// `1000 + n` (so, as with real traffic, deliveries concern many PRs and Gangway's workers
/// take their jobs in parallel), its body signed with the webhook secret as GitHub does.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub event: &'static str,
    /// The payload with `{number}` where the PR number goes.
    pub template: Arc<String>,
    pub secret: &'static str,
    pub prefix: String,
}

impl Target {
    pub fn delivery(&self, n: u64) -> String {
        format!("{}-{n}", self.prefix)
    }

    /// The body of request `n`, as sent (and signed).
    pub fn body_text(&self, n: u64) -> String {
        self.template.replace("{number}", &(1000 + n).to_string())
    }

    /// Request `n` if `id` is one of this target's delivery ids.
    pub fn request_of(&self, id: &str) -> Option<u64> {
        id.strip_prefix(self.prefix.as_str())?
            .strip_prefix('-')?
            .parse()
            .ok()
    }

    fn body(&self, n: u64) -> (Bytes, String) {
        let body = self.body_text(n);
        let signature = gangway::ingress::signature::sign(self.secret.as_bytes(), body.as_bytes());
        (Bytes::from(body), signature)
    }
}

#[derive(Default)]
pub struct Outcome {
    /// Latencies of requests started inside the measured window.
    pub latencies: Vec<Duration>,
    /// Every request answered 202 (warm-up included): they must all be in the database.
    pub accepted: Vec<u64>,
    /// Answers other than 202, and transport errors (`0`).
    pub refused: Vec<(u64, u16)>,
    /// Length of the measured window.
    pub window: Duration,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.latencies.extend(other.latencies);
        self.accepted.extend(other.accepted);
        self.refused.extend(other.refused);
    }

    /// Requests answered 202 per second in the measured window.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64()
    }
}

async fn connect(addr: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

/// One request on `conn` (reconnecting if it broke); the status, `0` for a transport error.
async fn post(conn: &mut Option<SendRequest<Full<Bytes>>>, t: &Target, n: u64) -> u16 {
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        *conn = connect(t.addr).await;
    }
    let Some(sender) = conn.as_mut() else {
        return 0;
    };
    if sender.ready().await.is_err() {
        *conn = None;
        return 0;
    }
    let (body, signature) = t.body(n);
    let request = http::Request::post("/webhooks")
        .header("host", t.addr.to_string())
        .header("user-agent", "GitHub-Hookshot/gangway-bench")
        .header("content-type", "application/json")
        .header("x-github-event", t.event)
        .header("x-github-delivery", t.delivery(n))
        .header("x-hub-signature-256", signature)
        .body(Full::new(body));
    let Ok(request) = request else {
        return 0;
    };
    match sender.send_request(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            if response.into_body().collect().await.is_err() {
                *conn = None;
            }
            status
        }
        Err(_) => {
            *conn = None;
            0
        }
    }
}

fn record(out: &mut Outcome, n: u64, status: u16, latency: Option<Duration>) {
    if status == 202 {
        out.accepted.push(n);
        if let Some(l) = latency {
            out.latencies.push(l);
        }
    } else {
        out.refused.push((n, status));
    }
}

/// `concurrency` connections each sending the next request as soon as the last is answered,
/// for `warmup` (not measured) and then `window`.
pub async fn closed_loop(
    t: &Target,
    concurrency: usize,
    warmup: Duration,
    window: Duration,
) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (measure_from, end) = (start + warmup, start + warmup + window);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (t, next) = (t.clone(), next.clone());
        tasks.spawn(async move {
            let mut out = Outcome::default();
            let mut conn = connect(t.addr).await;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let n = next.fetch_add(1, Ordering::Relaxed);
                let status = post(&mut conn, &t, n).await;
                let measured = (sent >= measure_from).then(|| sent.elapsed());
                record(&mut out, n, status, measured);
            }
            out
        });
    }
    let mut all = Outcome {
        window,
        ..Outcome::default()
    };
    while let Some(out) = tasks.join_next().await {
        if let Ok(out) = out {
            all.merge(out);
        }
    }
    all
}

/// `rate` requests a second for `window`, request `i` due at `start + i / rate`, sent on the
/// first of `connections` free then; latency runs from when it was due.
pub async fn open_loop(t: &Target, connections: usize, rate: u64, window: Duration) -> Outcome {
    let total = (rate as f64 * window.as_secs_f64()) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (t, next) = (t.clone(), next.clone());
        tasks.spawn(async move {
            let mut out = Outcome::default();
            let mut conn = connect(t.addr).await;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let due = start + interval.mul_f64(n as f64);
                tokio::time::sleep_until(due).await;
                let status = post(&mut conn, &t, n).await;
                record(&mut out, n, status, Some(due.elapsed()));
            }
            out
        });
    }
    let mut all = Outcome {
        window,
        ..Outcome::default()
    };
    while let Some(out) = tasks.join_next().await {
        if let Ok(out) = out {
            all.merge(out);
        }
    }
    all
}

/// Nearest-rank percentile of sorted `v` (`q` in 0..=1).
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Hostile traffic beside the measured load: `idle` connections that each send half a request
/// head and then nothing (reconnecting a second after the server closes one: at the header
/// timeout, or to make room at the connection cap), and `scrapers` keep-alive connections
/// sending `GET /metrics` as fast as they are answered.
pub struct Hostile {
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: tokio::task::JoinSet<()>,
    /// Idle connections open right now.
    pub idle_open: Arc<AtomicU64>,
    scrapes: Arc<AtomicU64>,
    scrape_errors: Arc<AtomicU64>,
    started: Instant,
}

/// What the hostile traffic did.
pub struct HostileTally {
    pub scrapes_per_sec: f64,
    pub scrape_errors: u64,
}

impl Hostile {
    pub async fn start(addr: SocketAddr, idle: usize, scrapers: usize) -> Hostile {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let idle_open = Arc::new(AtomicU64::new(0));
        let scrapes = Arc::new(AtomicU64::new(0));
        let scrape_errors = Arc::new(AtomicU64::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..idle {
            let (stop, open) = (stop.clone(), idle_open.clone());
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await
                        && s.write_all(b"GET /metrics HTTP/1.1\r\nHost: gangway\r\n")
                            .await
                            .is_ok()
                    {
                        open.fetch_add(1, Ordering::Relaxed);
                        let mut buf = [0u8; 512];
                        loop {
                            tokio::select! {
                                r = s.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { break },
                                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                                    if stop.load(Ordering::Relaxed) { break }
                                }
                            }
                        }
                        open.fetch_sub(1, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        for _ in 0..scrapers {
            let (stop, scrapes, errors) = (stop.clone(), scrapes.clone(), scrape_errors.clone());
            tasks.spawn(async move {
                let mut conn: Option<SendRequest<http_body_util::Empty<Bytes>>> = None;
                while !stop.load(Ordering::Relaxed) {
                    if conn.as_ref().is_none_or(|c| c.is_closed()) {
                        conn = async {
                            let s = tokio::net::TcpStream::connect(addr).await.ok()?;
                            let (sender, c) =
                                hyper::client::conn::http1::handshake(TokioIo::new(s))
                                    .await
                                    .ok()?;
                            tokio::spawn(c);
                            Some(sender)
                        }
                        .await;
                    }
                    let Some(sender) = conn.as_mut() else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let ok = async {
                        sender.ready().await.ok()?;
                        let req = http::Request::get("/metrics")
                            .header("host", addr.to_string())
                            .body(http_body_util::Empty::new())
                            .ok()?;
                        let resp = sender.send_request(req).await.ok()?;
                        let status = resp.status().as_u16();
                        resp.into_body().collect().await.ok()?;
                        (status == 200).then_some(())
                    }
                    .await;
                    match ok {
                        Some(()) => scrapes.fetch_add(1, Ordering::Relaxed),
                        None => {
                            conn = None;
                            errors.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            });
        }
        Hostile {
            stop,
            tasks,
            idle_open,
            scrapes,
            scrape_errors,
            started: Instant::now(),
        }
    }

    pub async fn stop(mut self) -> HostileTally {
        self.stop.store(true, Ordering::Relaxed);
        let took = self.started.elapsed();
        while self.tasks.join_next().await.is_some() {}
        HostileTally {
            scrapes_per_sec: self.scrapes.load(Ordering::Relaxed) as f64 / took.as_secs_f64(),
            scrape_errors: self.scrape_errors.load(Ordering::Relaxed),
        }
    }
}
