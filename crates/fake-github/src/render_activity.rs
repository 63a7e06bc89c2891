//! JSON renderings, continued: comments, reactions, deployments, environments, checks and
//! commit statuses.

use serde_json::{Value, json};

use super::model::{
    CheckRun, CheckSuite, Comment, CommitStatus, Deployment, DeploymentStatus, Environment,
    Reaction,
};
use super::render::{Render, WEB, node_id, ts, ts_opt};

impl Render<'_> {
    /// An `issue-comment`.
    pub(super) fn comment(&self, c: &Comment) -> Value {
        let full = self
            .st
            .repos
            .get(&c.repo)
            .map(|r| r.full_name())
            .unwrap_or_default();
        let api = format!("{}/repos/{full}/issues", self.api);
        let kind = if self.st.pulls.contains_key(&(c.repo, c.issue_number)) {
            "pull"
        } else {
            "issues"
        };
        json!({
            "id": c.id, "node_id": node_id("IC", c.id), "url": format!("{api}/comments/{}", c.id),
            "html_url": format!("{WEB}/{full}/{kind}/{}#issuecomment-{}", c.issue_number, c.id),
            "issue_url": format!("{api}/{}", c.issue_number), "body": c.body,
            "user": self.user(&c.user), "created_at": ts(&c.created_at),
            "updated_at": ts(&c.updated_at), "author_association": self.association(c.repo, &c.user),
            "performed_via_github_app": if c.via_app { self.app() } else { Value::Null },
            "reactions": self.rollup(format!("{api}/comments/{}/reactions", c.id), Some(c.id)),
        })
    }

    pub(super) fn reaction(&self, r: &Reaction) -> Value {
        json!({
            "id": r.id, "node_id": node_id("REA", r.id), "user": self.user(&r.user),
            "content": r.content, "created_at": ts(&r.created_at),
        })
    }

    pub(super) fn deployment(&self, d: &Deployment) -> Value {
        let full = self
            .st
            .repos
            .get(&d.repo)
            .map(|r| r.full_name())
            .unwrap_or_default();
        let repo_url = format!("{}/repos/{full}", self.api);
        let url = format!("{repo_url}/deployments/{}", d.id);
        json!({
            "url": url, "id": d.id, "node_id": node_id("DE", d.id), "sha": d.sha, "ref": d.ref_name,
            "task": d.task, "payload": d.payload, "original_environment": d.original_environment,
            "environment": d.environment, "description": d.description,
            "creator": self.user(&d.creator), "created_at": ts(&d.created_at),
            "updated_at": ts(&d.updated_at), "statuses_url": format!("{url}/statuses"),
            "repository_url": repo_url, "transient_environment": d.transient_environment,
            "production_environment": d.production_environment,
            "performed_via_github_app": if d.via_app { self.app() } else { Value::Null },
        })
    }

    pub(super) fn deployment_status(&self, d: &Deployment, s: &DeploymentStatus) -> Value {
        let full = self
            .st
            .repos
            .get(&d.repo)
            .map(|r| r.full_name())
            .unwrap_or_default();
        let repo_url = format!("{}/repos/{full}", self.api);
        let dep_url = format!("{repo_url}/deployments/{}", d.id);
        let log = s.log_url.clone().unwrap_or_default();
        json!({
            "url": format!("{dep_url}/statuses/{}", s.id), "id": s.id, "node_id": node_id("DES", s.id),
            "state": s.state, "creator": self.user(&s.creator), "description": s.description,
            "environment": s.environment, "target_url": log, "log_url": log,
            "environment_url": s.environment_url.clone().unwrap_or_default(),
            "created_at": ts(&s.created_at), "updated_at": ts(&s.created_at),
            "deployment_url": dep_url, "repository_url": repo_url,
            "performed_via_github_app": if s.via_app { self.app() } else { Value::Null },
        })
    }

    pub(super) fn environment(&self, e: &Environment) -> Value {
        let full = self
            .st
            .repos
            .get(&e.repo)
            .map(|r| r.full_name())
            .unwrap_or_default();
        let mut rules = Vec::new();
        if let Some(w) = e.settings.get("wait_timer").and_then(Value::as_u64) {
            rules.push(json!({"id": e.id * 10 + 1, "node_id": node_id("GA", e.id * 10 + 1), "type": "wait_timer", "wait_timer": w}));
        }
        if let Some(r) = e.settings.get("reviewers").and_then(Value::as_array) {
            let prevent = e
                .settings
                .get("prevent_self_review")
                .cloned()
                .unwrap_or(Value::Bool(false));
            rules.push(json!({"id": e.id * 10 + 2, "node_id": node_id("GA", e.id * 10 + 2), "type": "required_reviewers", "prevent_self_review": prevent, "reviewers": r}));
        }
        json!({
            "id": e.id, "node_id": node_id("EN", e.id), "name": e.name,
            "url": format!("{}/repos/{full}/environments/{}", self.api, e.name),
            "html_url": format!("{WEB}/{full}/deployments/activity_log?environments_filter={}", e.name),
            "created_at": ts(&e.created_at), "updated_at": ts(&e.updated_at),
            "protection_rules": rules,
            "deployment_branch_policy": e.settings.get("deployment_branch_policy").cloned().unwrap_or(Value::Null),
        })
    }

    /// Open same-repository PRs whose head is `sha` (GitHub leaves fork PRs out of check
    /// suites/runs `pull_requests`).
    pub(super) fn prs_for_head(&self, repo: u64, sha: &str) -> Vec<Value> {
        self.st
            .pulls
            .values()
            .filter(|p| {
                p.repo == repo && p.head_sha == sha && p.state == "open" && !p.is_cross_repo()
            })
            .map(|p| self.pr_minimal(p))
            .collect()
    }

    pub(super) fn check_run(&self, r: &CheckRun) -> Value {
        let full = self.full_name_of(r.repo);
        let url = format!("{}/repos/{full}/check-runs/{}", self.api, r.id);
        let out = r.extra.get("output");
        let field = |k: &str| out.and_then(|o| o.get(k)).cloned().unwrap_or(Value::Null);
        json!({
            "id": r.id, "head_sha": r.head_sha, "node_id": node_id("CR", r.id),
            "external_id": r.extra.get("external_id").cloned().unwrap_or(Value::String(String::new())),
            "url": url, "html_url": format!("{WEB}/{full}/runs/{}", r.id),
            "details_url": r.extra.get("details_url").cloned().unwrap_or(Value::Null),
            "status": r.status, "conclusion": r.conclusion, "started_at": ts(&r.started_at),
            "completed_at": ts_opt(r.completed_at.as_ref()),
            "output": {
                "title": field("title"), "summary": field("summary"), "text": field("text"),
                "annotations_count": 0, "annotations_url": format!("{url}/annotations"),
            },
            "name": r.name, "check_suite": {"id": r.suite}, "app": self.app_by_slug(&r.app_slug),
            "pull_requests": self.prs_for_head(r.repo, &r.head_sha),
        })
    }

    pub(super) fn check_suite(&self, s: &CheckSuite) -> Value {
        let full = self.full_name_of(s.repo);
        let url = format!("{}/repos/{full}/check-suites/{}", self.api, s.id);
        let runs = self.st.runs.values().filter(|r| r.suite == s.id).count();
        let c = self.st.commits.get(&s.head_sha);
        let person = c.map(|c| json!({"name": c.author, "email": format!("{}@users.noreply.github.com", c.author)}));
        let before = c.and_then(|c| c.parents.first().cloned());
        json!({
            "id": s.id, "node_id": node_id("CS", s.id),
            "head_branch": self.st.branch_at(s.repo, &s.head_sha), "head_sha": s.head_sha,
            "status": s.status, "conclusion": s.conclusion, "url": url,
            "before": before, "after": s.head_sha,
            "pull_requests": self.prs_for_head(s.repo, &s.head_sha),
            "app": self.app_by_slug(&s.app_slug), "repository": self.repo(s.repo),
            "created_at": ts(&s.created_at), "updated_at": ts(&s.updated_at),
            "head_commit": {
                "id": s.head_sha, "tree_id": s.head_sha,
                "message": c.map(|c| c.message.clone()), "timestamp": c.map(|c| ts(&c.date)),
                "author": person, "committer": person,
            },
            "latest_check_runs_count": runs, "check_runs_url": format!("{url}/check-runs"),
            "rerequestable": true, "runs_rerequestable": true,
        })
    }

    pub(super) fn status(&self, s: &CommitStatus) -> Value {
        let full = self.full_name_of(s.repo);
        json!({
            "url": format!("{}/repos/{full}/statuses/{}", self.api, s.sha),
            "avatar_url": null, "id": s.id, "node_id": node_id("SC", s.id), "state": s.state,
            "description": s.description, "target_url": s.target_url, "context": s.context,
            "created_at": ts(&s.created_at), "updated_at": ts(&s.created_at),
            "creator": self.user(&s.creator),
        })
    }
}
