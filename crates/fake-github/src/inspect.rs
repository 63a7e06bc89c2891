//! Inspection API: what tests assert on (clones of the state and the logs).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::FakeGitHub;
use super::model::{
    ApiCall, CheckRun, Comment, Commit, Deployment, DeploymentStatus, Environment, PullRequest,
    Reaction, Token,
};
use super::webhooks::Delivery;

impl FakeGitHub {
    /// `POST /app/installations/{id}/access_tokens` calls answered 201, all installations.
    pub fn token_requests(&self) -> u64 {
        self.shared.lock().token_requests.values().sum()
    }

    /// Tokens issued for one installation.
    pub fn token_requests_for(&self, installation: u64) -> u64 {
        self.shared
            .lock()
            .token_requests
            .get(&installation)
            .copied()
            .unwrap_or(0)
    }

    /// Every installation token issued (expired ones included).
    pub fn tokens(&self) -> Vec<Token> {
        self.shared.lock().tokens.values().cloned().collect()
    }

    /// Deployments of a repository, oldest first, each with its statuses oldest first.
    pub fn deployments(&self, repo: &str) -> Vec<Deployment> {
        let st = self.shared.lock();
        let Some(id) = st.repo_by_full_name(repo) else {
            return Vec::new();
        };
        st.deployments
            .values()
            .filter(|d| d.repo == id)
            .cloned()
            .collect()
    }

    /// Deployments of a repository to one environment (its current name), oldest first, so the
    /// newest is last.
    pub fn deployments_in(&self, repo: &str, environment: &str) -> Vec<Deployment> {
        let mut all = self.deployments(repo);
        all.retain(|d| d.environment == environment);
        all
    }

    /// Statuses of a deployment in the order they were created (`inactive` ones included, e.g.
    /// those `auto_inactive` added); empty for an unknown deployment.
    pub fn deployment_statuses(&self, repo: &str, deployment_id: u64) -> Vec<DeploymentStatus> {
        let st = self.shared.lock();
        let Some(id) = st.repo_by_full_name(repo) else {
            return Vec::new();
        };
        st.deployments
            .get(&deployment_id)
            .filter(|d| d.repo == id)
            .map(|d| d.statuses.clone())
            .unwrap_or_default()
    }

    /// Comments of an issue/PR, oldest first (`edits()` = number of edits).
    pub fn comments(&self, repo: &str, number: u64) -> Vec<Comment> {
        let st = self.shared.lock();
        let Some(id) = st.repo_by_full_name(repo) else {
            return Vec::new();
        };
        st.comments
            .values()
            .filter(|c| c.repo == id && c.issue_number == number)
            .cloned()
            .collect()
    }

    /// Reactions on a comment, oldest first.
    pub fn reactions(&self, comment_id: u64) -> Vec<Reaction> {
        self.shared
            .lock()
            .reactions
            .values()
            .filter(|r| r.comment_id == comment_id)
            .cloned()
            .collect()
    }

    /// Environments of a repository, by name.
    pub fn environments(&self, repo: &str) -> Vec<Environment> {
        let st = self.shared.lock();
        let Some(id) = st.repo_by_full_name(repo) else {
            return Vec::new();
        };
        st.environments
            .values()
            .filter(|e| e.repo == id)
            .cloned()
            .collect()
    }

    /// A pull request.
    pub fn pull(&self, repo: &str, number: u64) -> Option<PullRequest> {
        let st = self.shared.lock();
        let id = st.repo_by_full_name(repo)?;
        st.pulls.get(&(id, number)).cloned()
    }

    /// A commit of the graph.
    pub fn commit(&self, sha: &str) -> Option<Commit> {
        self.shared.lock().commits.get(sha).cloned()
    }

    /// Check runs of a sha, oldest first.
    pub fn check_runs(&self, repo: &str, sha: &str) -> Vec<CheckRun> {
        let st = self.shared.lock();
        let Some(id) = st.repo_by_full_name(repo) else {
            return Vec::new();
        };
        st.runs
            .values()
            .filter(|r| r.repo == id && r.head_sha == sha)
            .cloned()
            .collect()
    }

    /// Every API call so far (faulted ones included), in arrival order of their answers.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.shared.lock().calls.clone()
    }

    /// Calls with this method (any if `""`) whose path starts with `path_prefix`.
    pub fn count_calls(&self, method: &str, path_prefix: &str) -> usize {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| {
                (method.is_empty() || c.method.eq_ignore_ascii_case(method))
                    && c.path.starts_with(path_prefix)
            })
            .count()
    }

    /// Forgets the call log.
    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// Every webhook delivery attempt so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// Delivery attempts of one event type, oldest first.
    pub fn deliveries_of(&self, event: &str) -> Vec<Delivery> {
        self.shared
            .lock()
            .deliveries
            .iter()
            .filter(|d| d.event == event)
            .cloned()
            .collect()
    }

    /// App-caused deliveries queued but not yet sent.
    pub fn pending_webhooks(&self) -> usize {
        self.shared.pending.load(Ordering::SeqCst)
    }

    /// Waits until every queued App-caused delivery was sent; `false` on timeout.
    pub async fn wait_webhooks_idle(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |f| f.pending_webhooks() == 0).await
    }

    /// Polls `cond` every 10 ms until it holds (`true`) or `timeout` passes (`false`).
    pub async fn wait_for(&self, timeout: Duration, cond: impl Fn(&FakeGitHub) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
