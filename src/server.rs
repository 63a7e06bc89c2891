//! Assembles a running Gangway: store, GitHub client, workers and HTTP server; and stops it.
//!
//! Owns: start-up order (migrate before serving), the process identity in job leases, and the
//! graceful shutdown sequence (stop accepting → drain requests → let jobs finish within the
//! grace period → release leases → close the database).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::info;

use crate::clock::SharedClock;
use crate::config::{Settings, SetupSettings};
use crate::executor::processor::Processor;
use crate::executor::{ExecSettings, Executor};
use crate::github::pacing::PacingSettings;
use crate::github::{GitHub, GitHubError};
use crate::http::limits::Limits;
use crate::http::{HttpState, listen, metrics_router, refresh_metrics, router};
use crate::ingress::Ingress;
use crate::ingress::batch::GroupCommit;
use crate::metrics::Metrics;
use crate::queue::{Queue, WorkerPool};
use crate::store::{Store, StoreError};
use crate::timers::Timers;
use crate::web::{self, WebState};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A running instance.
pub struct Running {
    addr: SocketAddr,
    store: Store,
    queue: Queue,
    metrics: Metrics,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), std::io::Error>>,
    workers: WorkerPool,
    grace: Duration,
    timers: Arc<Timers>,
    timer_task: JoinHandle<()>,
    web: WebState,
}

/// Makes this process non-dumpable: its `/proc/PID/environ`, `mem`, `maps`, `fd/` and `root`
/// become unreadable to every other process without `CAP_SYS_PTRACE`, including the deploy
/// driver's processes running as the same user (a program it executes is dumpable again, but
/// Gangway stays not). Core dumps are off as a consequence. Called first thing by the binary.
pub fn protect_process() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_DUMPABLE takes plain integers and touches no memory of this process.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A name for this process in job leases: host, pid and a random suffix.
pub fn process_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("FLY_MACHINE_ID"))
        .unwrap_or_else(|_| "gangway".into());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

impl Running {
    /// Opens the database (migrating it), starts the workers and serves on `listener`.
    pub async fn start(
        settings: &Settings,
        listener: TcpListener,
        clock: SharedClock,
    ) -> Result<Running, ServeError> {
        let store = Store::open(settings.database_url()).await?;
        let metrics = Metrics::new();
        let github = GitHub::new(
            &settings.github_api_url,
            settings.app_id,
            &settings.private_key,
            metrics.clone(),
        )?
        .with_pacing(PacingSettings::for_mode(
            settings.github_pacing,
            &settings.github_api_url,
        ));
        let queue = Queue::new(
            store.clone(),
            clock.clone(),
            process_identity(),
            settings.queue.clone(),
        );
        let wake = Arc::new(Notify::new());
        let users = crate::github::user::UserClient::new(
            &settings.github_api_url,
            &settings.web.github_url,
        )
        .map_err(|e| ServeError::GitHub(GitHubError::Setup(e.to_string())))?;
        let access = Arc::new(crate::web::access::Access::new(users, github.clone()));
        let budgets = github.budgets();
        let executor = Arc::new(Executor::new(
            store.clone(),
            github,
            clock.clone(),
            ExecSettings {
                public_url: settings.public_url.clone(),
                host_template: settings.host_template.clone(),
                environment_host: settings.environment_host.clone(),
                driver: settings.driver,
                command: settings.command_driver.clone(),
                pass_env: settings.driver_pass_env.clone(),
                alias_template: settings.alias_template.clone(),
                slot_template: settings.slot_template.clone(),
                policy_ttl: settings.policy_ttl,
            },
            queue.clone(),
        ));
        let processor = Processor::new(store.clone(), queue.clone(), executor, clock.clone());
        let timers = Timers::new(
            store.clone(),
            queue.clone(),
            clock.clone(),
            queue.owner().to_owned(),
            settings.timers.clone(),
        );
        let workers = WorkerPool::start(queue.clone(), processor, wake.clone(), metrics.clone());

        let ingress = Ingress {
            store: store.clone(),
            secrets: Arc::new(settings.webhook_secrets.clone()),
            metrics: metrics.clone(),
            clock: clock.clone(),
            wake,
            max_attempts: queue.max_attempts(),
            group: GroupCommit::new(store.clone()).with_pressure(queue.pressure().clone()),
            app_id: settings.app_id,
        };
        let web = WebState {
            store: store.clone(),
            queue: queue.clone(),
            clock: clock.clone(),
            settings: Arc::new(settings.web.clone()),
            access,
            budgets,
            streams: Arc::new(tokio::sync::Semaphore::new(web::MAX_STREAMS)),
        };
        let state = HttpState {
            ingress,
            store: store.clone(),
            metrics: metrics.clone(),
            queue: queue.clone(),
            web: web.clone(),
        };
        let metrics_listener = match settings.http.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| ServeError::Bind { addr, source })?,
            ),
            None => None,
        };
        let app = router(state.clone(), metrics_listener.is_none());
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        timers.start_up().await;
        let timer_task = timers.clone().spawn(stop_rx.clone());
        let refresher = refresh_metrics(queue.clone(), metrics.clone(), stop_rx.clone());
        let limits = Limits::new(settings.http.clone(), metrics.clone());
        let task = tokio::spawn(async move {
            let main = listen::serve(listener, app, limits.clone(), stop_rx.clone());
            let side = async {
                match metrics_listener {
                    Some(l) => {
                        let limits = Limits::new(limits.settings().clone(), state.metrics.clone());
                        listen::serve(l, metrics_router(state), limits, stop_rx.clone()).await
                    }
                    None => Ok(()),
                }
            };
            let (main, side, ()) = tokio::join!(main, side, refresher);
            main.and(side)
        });
        info!(%addr, db = ?store.kind(), "gangway serving");
        Ok(Running {
            addr,
            store,
            queue,
            metrics,
            stop,
            task,
            workers,
            grace: settings.shutdown_grace,
            timers,
            timer_task,
            web,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// What the dashboard's handlers use (tests call them directly, e.g. as a signed-in user).
    pub fn web_state(&self) -> &WebState {
        &self.web
    }

    /// The timers (tests run a sweep at once with `tick`, after moving their clock).
    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Graceful stop: no new connections, in-flight requests answered, jobs given `grace` to
    /// finish, unfinished ones released for another process.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        let _ = self.timer_task.await;
        let served = self
            .task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.workers.shutdown(self.grace).await;
        self.store.close().await;
        info!("gangway stopped");
        served.map_err(ServeError::from)
    }
}

impl Running {
    /// Stops at once, as a SIGKILL would, for tests of crash recovery: no request is finished,
    /// no job finishes or gives its lease back (it is claimed again once the lease lapses), the
    /// database connections are closed without waiting for anything.
    pub async fn kill(self) {
        self.task.abort();
        self.timer_task.abort();
        self.workers.abort();
        self.store.close().await;
        info!("gangway killed");
    }
}

/// Setup mode (no GitHub App configured): serves only the registration page, its callback and
/// the health endpoints (see `web::setup`). No database, no workers.
pub struct SetupRunning {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), std::io::Error>>,
}

impl SetupRunning {
    pub async fn start(
        settings: &SetupSettings,
        listener: TcpListener,
    ) -> Result<SetupRunning, ServeError> {
        let app = crate::web::setup::router(crate::web::setup::SetupState::new(settings.clone()));
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let limits = Limits::new(settings.http.clone(), Metrics::new());
        let task = tokio::spawn(listen::serve(listener, app, limits, stop_rx));
        info!(%addr, public_url = %settings.public_url, "no GitHub App configured: serving the registration page");
        Ok(SetupRunning { addr, stop, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        Ok(())
    }
}

/// `gangway serve` without any of the App's settings: setup mode until SIGTERM or SIGINT.
pub async fn serve_setup(settings: SetupSettings) -> Result<(), ServeError> {
    let addr = SocketAddr::new(settings.host, settings.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let running = SetupRunning::start(&settings, listener).await?;
    shutdown_signal().await;
    running.shutdown().await
}

/// `gangway serve`: runs until SIGTERM or SIGINT.
pub async fn serve(settings: Settings, clock: SharedClock) -> Result<(), ServeError> {
    let addr = SocketAddr::new(settings.host, settings.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let running = Running::start(&settings, listener, clock).await?;
    shutdown_signal().await;
    info!("shutdown requested; finishing running jobs");
    running.shutdown().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
