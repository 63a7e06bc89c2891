//! A stateful fake of the GitHub REST API and webhook sender, for integration tests and demos.
//!
//! [`FakeGitHub`] serves, on `127.0.0.1` (random port), the endpoints a GitHub App uses
//! (installation tokens, pulls and their merge, compare, contents, statuses, check runs/suites,
//! deployments and their statuses, environments, issue comments, reactions, collaborator
//! permissions, `/rate_limit`, App webhook deliveries), the App's user sign-in (the OAuth web
//! flow: `/login/oauth/authorize`, `/login/oauth/access_token`, `GET /user`, what a user token may
//! read), and registering an App from a manifest (`/settings/apps/new`, the confirmation page,
//! `POST /app-manifests/{code}/conversions`), answering with GitHub's JSON shapes and status
//! codes.
//! App auth is real: RS256 JWTs are verified against the App's public key, and installation
//! tokens are scoped to their installation's repositories (404 elsewhere, as GitHub does).
//!
//! It owns: the fake's state (installations, repositories with a commit graph and file trees,
//! pull requests, ...), the scenario API that plays users, CI and pushes and delivers signed
//! webhooks to the App, the inspection API tests assert on, and fault injection (5xx, 429/403 with
//! `Retry-After`, latency).
//!
//! Typical use (App id 4242, installation 1):
//!
//! ```text
//! let fake = FakeGitHub::start(FakeConfig::new(4242, public_pem)).await?;
//! fake.add_installation(1, "octo");
//! fake.add_repo(1, "octo/app", "main")?;
//! fake.set_webhook(Some(WebhookTarget::new(format!("{app_url}/webhook"), "secret")));
//! let pr = fake.open_pr(PrSpec::new("octo/app", "feature", "alice")).await?; // App answers
//! assert!(pr.delivery.ok());
//! assert!(fake.wait_for(Duration::from_secs(5), |f| !f.deployments("octo/app").is_empty()).await);
//! ```
//!
//! This module uses no other part of the crate and only relative paths, so it also compiles as
//! a crate of its own.

mod auth;
mod etag;
mod events;
mod faults;
mod graph;
mod http;
mod inspect;
pub mod markdown;
mod model;
mod render;
mod render_activity;
mod routes_app;
mod routes_checks;
mod routes_deploy;
mod routes_graphql;
mod routes_issues;
mod routes_manifest;
mod routes_oauth;
mod routes_repo;
mod scenario;
mod scenario_ci;
mod scenario_git;
mod secondary;
mod seed;
mod state;
mod webhooks;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use octocrab::jsonwebtoken::DecodingKey;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultKind, SECONDARY_RATE_LIMIT_MESSAGE};
pub use model::{
    ApiCall, CheckRun, CheckSuite, Comment, Commit, CommitStatus, Deployment, DeploymentStatus,
    Environment, Installation, Issue, PullRequest, Reaction, Repo, Role, Token, User, UserKind,
};
pub use routes_manifest::RegisteredApp;
pub use scenario::{PrOpened, PrSpec};
pub use scenario_ci::CommentPosted;
pub use scenario_git::Pushed;
pub use secondary::{SecondaryLimits, SecondaryReport};
pub use seed::RepoSeed;
pub use webhooks::{Delivery, WebhookTarget, sign};

/// How to start a [`FakeGitHub`].
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The App's id (`iss` of its JWTs).
    pub app_id: u64,
    /// The App's RSA public key (PEM, PKCS#1 or SPKI) that verifies its JWTs.
    pub app_public_key_pem: String,
    /// App slug (default `gangway`); its bot is `<slug>[bot]`.
    pub app_slug: String,
    /// Where to deliver webhooks (also settable later with [`FakeGitHub::set_webhook`]).
    pub webhook: Option<WebhookTarget>,
    /// Lifetime of installation tokens (default 1 hour).
    pub token_lifetime: Duration,
    /// Rate-limit budget of each token (default 5000 calls/hour).
    pub rate_limit: u64,
    /// Permissions reported for the App, its installations and tokens.
    pub permissions: BTreeMap<String, String>,
    /// `Link` headers with absolute URLs (`http://127.0.0.1:PORT/...`). Default `false`:
    /// path-relative URLs, which octocrab follows with its auth header (it drops the header for
    /// absolute URLs to hosts other than api.github.com).
    pub absolute_links: bool,
    /// The App's OAuth client id, for user sign-in (default [`FakeConfig::DEFAULT_CLIENT_ID`]).
    pub client_id: String,
    /// The App's OAuth client secret (default [`FakeConfig::DEFAULT_CLIENT_SECRET`]).
    pub client_secret: String,
    /// The private key (PEM) matching `app_public_key_pem`, handed out as `pem` to Apps
    /// registered through the manifest flow (their JWTs then verify). Without it, registering
    /// an App from a manifest fails with a page that says so.
    pub app_private_key_pem: Option<String>,
}

impl FakeConfig {
    /// The default OAuth client id (GitHub Apps' ids start with `Iv1.`).
    pub const DEFAULT_CLIENT_ID: &'static str = "Iv1.fakeclientid";
    /// The default OAuth client secret.
    pub const DEFAULT_CLIENT_SECRET: &'static str = "fake-client-secret-0123456789abcdef01234567";

    /// Defaults for everything but the App id and key.
    pub fn new(app_id: u64, app_public_key_pem: impl Into<String>) -> Self {
        let permissions = [
            ("checks", "read"),
            ("contents", "read"),
            ("deployments", "write"),
            ("issues", "write"),
            ("metadata", "read"),
            ("pull_requests", "write"),
            ("statuses", "read"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        FakeConfig {
            app_id,
            app_public_key_pem: app_public_key_pem.into(),
            app_slug: "gangway".into(),
            webhook: None,
            token_lifetime: Duration::from_secs(3600),
            rate_limit: 5000,
            permissions,
            absolute_links: false,
            client_id: Self::DEFAULT_CLIENT_ID.into(),
            client_secret: Self::DEFAULT_CLIENT_SECRET.into(),
            app_private_key_pem: None,
        }
    }

    /// With the private key handed out to Apps registered from a manifest.
    pub fn with_private_key(mut self, pem: impl Into<String>) -> Self {
        self.app_private_key_pem = Some(pem.into());
        self
    }
}

/// Why a scenario/seed call failed.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// No such installation.
    #[error("unknown installation {0}")]
    UnknownInstallation(u64),
    /// No such repository (`owner/name`).
    #[error("unknown repository {0}")]
    UnknownRepo(String),
    /// No such pull request or issue.
    #[error("unknown issue or pull request {0}#{1}")]
    UnknownIssue(String, u64),
    /// No such branch or commit.
    #[error("unknown ref {0}")]
    UnknownRef(String),
    /// No such comment.
    #[error("unknown comment {0}")]
    UnknownComment(u64),
    /// No delivery with that guid.
    #[error("unknown delivery {0}")]
    UnknownDelivery(String),
    /// The operation makes no sense in the current state.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// State shared by the handle, the HTTP handlers and the webhook sender.
struct Shared {
    state: Mutex<state::State>,
    key: DecodingKey,
    app_id: u64,
    /// Base URL, e.g. `http://127.0.0.1:4321`.
    api: String,
    outgoing: mpsc::UnboundedSender<webhooks::Outgoing>,
    /// Queued App-caused deliveries not yet sent.
    pending: AtomicUsize,
    http: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn render<'a>(&'a self, st: &'a state::State) -> render::Render<'a> {
        render::Render { st, api: &self.api }
    }
}

/// A running fake GitHub. Stops on [`FakeGitHub::shutdown`] or drop.
pub struct FakeGitHub {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    worker: JoinHandle<()>,
}

impl std::fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitHub")
            .field("url", &self.shared.api)
            .finish_non_exhaustive()
    }
}

impl FakeGitHub {
    /// Binds `127.0.0.1:0` and starts serving (needs a Tokio runtime).
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeGitHub> {
        let key = auth::decoding_key(&config.app_public_key_pem)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let settings = state::Settings {
            app_id: config.app_id,
            app_slug: config.app_slug,
            token_lifetime: config.token_lifetime,
            rate_limit: config.rate_limit,
            permissions: config.permissions,
            absolute_links: config.absolute_links,
            client_id: config.client_id,
            client_secret: config.client_secret,
        };
        let mut st = state::State::new(settings);
        st.webhook = config.webhook;
        st.manifest.private_key_pem = config.app_private_key_pem;
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(st),
            key,
            app_id: config.app_id,
            api: format!("http://{addr}"),
            outgoing: tx,
            pending: AtomicUsize::new(0),
            http,
        });
        let worker = tokio::spawn(webhooks::worker(shared.clone(), rx));
        let app = http::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "fake GitHub server stopped with an error");
            }
        });
        Ok(FakeGitHub {
            shared,
            addr,
            stop: Some(stop),
            server: Some(server),
            worker,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash): the API base URL for the App.
    pub fn url(&self) -> &str {
        &self.shared.api
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving, waiting up to 5 s for open connections to close.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.worker.abort();
    }

    /// Sets (or clears) where webhooks are delivered.
    pub fn set_webhook(&self, target: Option<WebhookTarget>) {
        self.shared.lock().webhook = target;
    }

    /// Lifetime of installation tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().settings.token_lifetime = lifetime;
    }

    /// Expires every installation token issued so far (the App must request a new one).
    pub fn expire_tokens(&self) {
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        for t in self.shared.lock().tokens.values_mut() {
            t.expires_at = past;
        }
    }

    /// Sets the per-token rate-limit budget and starts every bucket afresh.
    pub fn set_rate_limit(&self, budget: u64) {
        let mut st = self.shared.lock();
        st.settings.rate_limit = budget;
        st.rate.clear();
    }

    /// Leaves the installation `leave` REST calls of its current hour's budget (never more than
    /// it has): every answer reports the budget that low until GitHub's reset an hour on.
    pub fn spend_rate_limit(&self, installation: u64, leave: u64) {
        self.spend_budget(format!("installation:{installation}"), leave);
    }

    /// As [`FakeGitHub::spend_rate_limit`], for the installation's GraphQL budget (GitHub
    /// keeps it apart from REST's).
    pub fn spend_graphql_rate_limit(&self, installation: u64, leave: u64) {
        self.spend_budget(
            format!("installation:{installation}:{}", http::GRAPHQL),
            leave,
        );
    }

    fn spend_budget(&self, key: String, leave: u64) {
        let mut st = self.shared.lock();
        let limit = st.settings.rate_limit;
        let reset = chrono::Utc::now().timestamp() + 3600;
        let b = st.rate.entry(key).or_insert(model::RateBucket {
            limit,
            remaining: limit,
            used: 0,
            reset,
        });
        let spent = b.remaining.saturating_sub(leave);
        b.remaining -= spent;
        b.used += spent;
    }

    /// Adds a fault rule (checked in insertion order).
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The Apps registered through the manifest flow, oldest first.
    pub fn registered_apps(&self) -> Vec<RegisteredApp> {
        self.shared.lock().manifest.apps.clone()
    }

    /// Makes every manifest code issued so far `by` older (a code expires an hour after issue).
    pub fn age_manifest_codes(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.shared.lock().manifest.age_codes(by);
    }

    /// Latency added to every call (on top of latency rules).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.worker.abort();
    }
}
