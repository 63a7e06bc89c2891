//! The listener: accepts TCP connections and serves them with hyper's HTTP/1.1 under the limits
//! of `HttpSettings`, and stops gracefully.
//!
//! Owns: the connection cap and what happens at it. A connection is *idle* while no request of
//! it is in flight (waiting for, or trickling, a request head; kept alive between requests) and
//! *busy* from a request's head to the end of its response. At `GANGWAY_MAX_CONNECTIONS` a new
//! connection takes the place of the one idle longest, which is closed: idle connections cost
//! nothing to drop (no request is lost) and are what a slowloris or an idle flood holds, so they
//! can never keep a webhook delivery out. Only when every connection is busy is the new one
//! answered 503 with `Retry-After` and closed. Heads must arrive within the header timeout
//! (hyper's `header_read_timeout`, which also closes keep-alive connections idle that long);
//! bodies within the body timeout (see `limits`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::limits::{Limits, OVERLOAD_RETRY_AFTER_SECS};

/// How long a connection told to close (evicted, or at shutdown while idle) may take to finish
/// writing what it was sending before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// One open connection, as the cap sees it.
struct Conn {
    /// Requests of this connection in flight (0 or 1 with HTTP/1.1 without pipelining).
    busy: AtomicUsize,
    /// When it last became idle (accepted, or its last response sent): microseconds since the
    /// listener started.
    idle_since: AtomicU64,
    /// Told to close (evicted); no longer counted against the cap.
    closing: AtomicBool,
    close: Notify,
}

/// Marks its connection busy while it lives (held by a request until its response is sent).
struct Busy(Arc<Conn>, Arc<Conns>);

impl Busy {
    fn new(conn: &Arc<Conn>, conns: &Arc<Conns>) -> Busy {
        conn.busy.fetch_add(1, Ordering::SeqCst);
        Busy(conn.clone(), conns.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.idle_since.store(self.1.now(), Ordering::SeqCst);
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The open connections.
struct Conns {
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    started: Instant,
}

impl Default for Conns {
    fn default() -> Self {
        Conns {
            open: Mutex::default(),
            started: Instant::now(),
        }
    }
}

impl Conns {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Room for one more: registers it, closing the connection idle longest if the cap is
    /// reached. `None` when every counted connection is busy.
    fn admit(&self, id: u64, max: usize) -> Option<Arc<Conn>> {
        let now = self.now();
        let mut open = self.lock();
        let counted = open
            .values()
            .filter(|c| !c.closing.load(Ordering::SeqCst))
            .count();
        if counted >= max {
            let victim = open
                .values()
                .filter(|c| !c.closing.load(Ordering::SeqCst) && c.busy.load(Ordering::SeqCst) == 0)
                .min_by_key(|c| c.idle_since.load(Ordering::SeqCst))?;
            victim.closing.store(true, Ordering::SeqCst);
            victim.close.notify_one();
        }
        let conn = Arc::new(Conn {
            idle_since: AtomicU64::new(now),
            busy: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        });
        open.insert(id, conn.clone());
        Some(conn)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// Serves `app` on `listener` until `stop` turns true, then stops accepting, lets requests in
/// flight finish and closes idle connections. Dropping the future aborts every connection.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let conns = Arc::new(Conns::default());
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    loop {
        while tasks.try_join_next().is_some() {}
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, a connection reset before accept: wait a moment
                    // rather than spin; connections already open keep being served.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        next_id += 1;
        let id = next_id;
        match conns.admit(id, limits.settings.max_connections) {
            Some(conn) => {
                let (app, limits, conns, stop) =
                    (app.clone(), limits.clone(), conns.clone(), stop.clone());
                tasks.spawn(async move {
                    serve_connection(stream, conn, &conns, app, limits, stop).await;
                    conns.remove(id);
                });
            }
            None => {
                limits.metrics.http_refused("connections");
                tasks.spawn(refuse(stream));
            }
        }
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Resolves once `stop` says true (or its sender is gone).
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn serve_connection(
    stream: TcpStream,
    conn: Arc<Conn>,
    conns: &Arc<Conns>,
    app: Router,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.settings.header_timeout)
        .keep_alive(true);
    let (for_requests, all) = (conn.clone(), conns.clone());
    let service = hyper::service::service_fn(move |req| {
        let busy = Busy::new(&for_requests, &all);
        limits.clone().handle(req, app.clone(), busy)
    });
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    tokio::select! {
        r = served.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = conn.close.notified() => {}
        _ = stopped(&mut stop) => {}
    }
    // Told to close: no new request; a request in flight is answered; an idle connection (a
    // head still trickling in) is dropped after a short grace.
    served.as_mut().graceful_shutdown();
    let mut idle_for = Duration::ZERO;
    let tick = Duration::from_millis(100);
    loop {
        tokio::select! {
            _ = served.as_mut() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        if conn.busy.load(Ordering::SeqCst) == 0 {
            idle_for += tick;
            if idle_for >= CLOSE_GRACE {
                return;
            }
        } else {
            idle_for = Duration::ZERO;
        }
    }
}

/// Every connection is busy: 503 with `Retry-After`, written without reading the request, then
/// the connection closed (after reading what the client had sent, so that the close does not
/// reset the connection before the answer is read).
async fn refuse(mut stream: TcpStream) {
    let body = r#"{"error":"too many connections: retry shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: {OVERLOAD_RETRY_AFTER_SECS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let done = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut read = 0usize;
        while read < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, done).await;
}
