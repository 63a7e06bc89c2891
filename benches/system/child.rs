//! The release `gangway serve` as operators run it: its own process, configured by environment,
//! logging to a file; started, probed (`/readyz`, resident memory), crashed or stopped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const SECRET: &str = "gangway-bench-webhook-secret";
pub const APP_ID: u64 = 4242;
pub const KEY_PEM: &str = include_str!("../../fixtures/test-app-key.pem");
pub const PUBLIC_KEY_PEM: &str = include_str!("../../fixtures/test-app-key.pub.pem");

/// The binary `cargo bench` built with the bench (= release) profile.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gangway"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

pub struct Gangway {
    process: std::process::Child,
    pub addr: SocketAddr,
    pub started: Instant,
    pub log: PathBuf,
}

impl Gangway {
    /// Starts `gangway serve` on 127.0.0.1 with `database_url` and GitHub at `github`.
    pub fn spawn(database_url: &str, github: &str, dir: &Path, extra: &[(&str, &str)]) -> Gangway {
        let port = free_port();
        let log = dir.join(format!("gangway-{port}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("APP_ID", APP_ID.to_string())
            .env("PRIVATE_KEY", KEY_PEM)
            .env("WEBHOOK_SECRET", SECRET)
            .env("GITHUB_API_URL", github)
            .env("DATABASE_URL", database_url)
            .env("GANGWAY_HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("GANGWAY_SHUTDOWN_GRACE_SECS", "2")
            .env("RUST_LOG", "info");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        // Settings to try, e.g. GANGWAY_BENCH_ENV="GANGWAY_WORKERS=8,RUST_LOG=warn".
        if let Ok(more) = std::env::var("GANGWAY_BENCH_ENV") {
            for pair in more.split(',').filter(|p| !p.is_empty()) {
                if let Some((k, v)) = pair.split_once('=') {
                    cmd.env(k, v);
                }
            }
        }
        let started = Instant::now();
        let process = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the gangway binary");
        Gangway {
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            started,
            log,
        }
    }

    /// Time from spawn to the first `/readyz` answered 200 (polled every millisecond).
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<Duration, String> {
        loop {
            if get_status(self.addr, "/readyz") == Some(200) {
                return Ok(self.started.elapsed());
            }
            if let Ok(Some(status)) = self.process.try_wait() {
                return Err(format!(
                    "gangway exited with {status}; see {}",
                    self.log.display()
                ));
            }
            if self.started.elapsed() > timeout {
                return Err(format!(
                    "not ready after {timeout:?}; see {}",
                    self.log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn status_field(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(field))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_field("VmRSS:")
    }

    /// The most resident memory since start, in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.status_field("VmHWM:")
    }

    fn signal(&self, sig: libc::c_int) {
        if let Ok(pid) = libc::pid_t::try_from(self.process.id()) {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }

    /// A crash: SIGKILL, nothing flushed, nothing shut down.
    pub fn crash(mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.process.wait();
    }

    /// SIGTERM and wait for the graceful exit.
    pub fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.crash();
    }
}

/// `GET path` on a fresh connection; the status code, if anything answered.
pub fn get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
