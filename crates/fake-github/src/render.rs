//! JSON renderings of the state in GitHub's REST/webhook shapes (field names from GitHub's
//! OpenAPI description). API URLs point at the fake; `html_url`s at github.com.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::model::{Installation, PullRequest, Reaction, User, UserKind};
use super::state::State;

pub(super) const WEB: &str = "https://github.com";

const REPO_URLS: &[(&str, &str)] = &[
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("hooks_url", "/hooks"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];

/// A stable opaque `node_id`.
pub(super) fn node_id(kind: &str, id: u64) -> String {
    format!("{kind}_kwDO{id:08X}")
}

/// RFC 3339 with `Z`, second precision, as GitHub prints timestamps.
pub(super) fn ts(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub(super) fn ts_opt(t: Option<&chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(ts(t)))
}

/// Stable numeric id of some other app, from its slug.
pub(super) fn foreign_app_id(slug: &str) -> u64 {
    let d = Sha256::digest(slug.as_bytes());
    u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]) & 0x00ff_ffff)
}

/// Renders state objects; borrows the locked state.
pub(super) struct Render<'a> {
    pub st: &'a State,
    pub api: &'a str,
}

impl Render<'_> {
    /// A repository's `owner/name` by id (empty for one the fake does not hold).
    pub(super) fn full_name_of(&self, repo: u64) -> String {
        self.st
            .repos
            .get(&repo)
            .map(|x| x.full_name())
            .unwrap_or_default()
    }

    fn user_obj(&self, u: &User) -> Value {
        let api = self.api;
        let l = &u.login;
        let html = match (u.kind, l.strip_suffix("[bot]")) {
            (UserKind::Bot, Some(slug)) => format!("{WEB}/apps/{slug}"),
            _ => format!("{WEB}/{l}"),
        };
        json!({
            "login": l, "id": u.id, "node_id": node_id("U", u.id),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", u.id),
            "gravatar_id": "", "url": format!("{api}/users/{l}"), "html_url": html,
            "followers_url": format!("{api}/users/{l}/followers"),
            "following_url": format!("{api}/users/{l}/following{{/other_user}}"),
            "gists_url": format!("{api}/users/{l}/gists{{/gist_id}}"),
            "starred_url": format!("{api}/users/{l}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{api}/users/{l}/subscriptions"),
            "organizations_url": format!("{api}/users/{l}/orgs"),
            "repos_url": format!("{api}/users/{l}/repos"),
            "events_url": format!("{api}/users/{l}/events{{/privacy}}"),
            "received_events_url": format!("{api}/users/{l}/received_events"),
            "type": u.kind.as_str(), "user_view_type": "public", "site_admin": false,
        })
    }

    /// A `simple-user` (unknown logins render with id 0).
    pub(super) fn user(&self, login: &str) -> Value {
        match self.st.users.get(login) {
            Some(u) => self.user_obj(u),
            None => self.user_obj(&User {
                id: 0,
                login: login.to_string(),
                kind: UserKind::User,
            }),
        }
    }

    /// An `organization` object for org-owned accounts.
    pub(super) fn organization(&self, login: &str) -> Option<Value> {
        let u = self.st.users.get(login)?;
        if u.kind != UserKind::Organization {
            return None;
        }
        let api = self.api;
        Some(json!({
            "login": login, "id": u.id, "node_id": node_id("O", u.id),
            "url": format!("{api}/orgs/{login}"), "repos_url": format!("{api}/orgs/{login}/repos"),
            "events_url": format!("{api}/orgs/{login}/events"),
            "hooks_url": format!("{api}/orgs/{login}/hooks"),
            "issues_url": format!("{api}/orgs/{login}/issues"),
            "members_url": format!("{api}/orgs/{login}/members{{/member}}"),
            "public_members_url": format!("{api}/orgs/{login}/public_members{{/member}}"),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", u.id),
            "description": "",
        }))
    }

    /// A `repository` (Null for unknown ids, e.g. a deleted fork).
    pub(super) fn repo(&self, id: u64) -> Value {
        self.repo_inner(id, true)
    }

    fn repo_inner(&self, id: u64, with_parent: bool) -> Value {
        let Some(r) = self.st.repos.get(&id) else {
            return Value::Null;
        };
        let full = r.full_name();
        let private = self.st.private.contains(&id);
        let base = format!("{}/repos/{full}", self.api);
        let mut m = Map::new();
        for (k, suffix) in REPO_URLS {
            m.insert((*k).to_string(), Value::String(format!("{base}{suffix}")));
        }
        let open_issues = self
            .st
            .pulls
            .values()
            .filter(|p| p.repo == id && p.state == "open")
            .count()
            + self.st.issues.values().filter(|i| i.repo == id).count();
        let pushed = self
            .st
            .commits
            .get(r.branches.get(&r.default_branch).map_or("", String::as_str))
            .map_or(r.created_at, |c| c.date);
        let rest = json!({
            "id": r.id, "node_id": node_id("R", r.id), "name": r.name, "full_name": full,
            "private": private, "owner": self.user(&r.owner), "html_url": format!("{WEB}/{full}"),
            "description": null, "fork": r.fork_of.is_some(), "url": base,
            "git_url": format!("git://github.com/{full}.git"),
            "ssh_url": format!("git@github.com:{full}.git"),
            "clone_url": format!("{WEB}/{full}.git"), "svn_url": format!("{WEB}/{full}"),
            "mirror_url": null, "homepage": null, "language": null, "size": 0,
        });
        let counters = json!({
            "forks_count": 0, "stargazers_count": 0, "watchers_count": 0,
            "default_branch": r.default_branch, "open_issues_count": open_issues,
            "is_template": false, "topics": [], "has_issues": true, "has_projects": true,
            "has_wiki": true, "has_pages": false, "has_downloads": true,
            "has_discussions": false, "archived": false, "disabled": false,
            "visibility": if private { "private" } else { "public" }, "pushed_at": ts(&pushed), "created_at": ts(&r.created_at),
            "updated_at": ts(&pushed), "allow_forking": true, "web_commit_signoff_required": false,
            "license": null, "forks": 0, "open_issues": open_issues, "watchers": 0,
            "allow_merge_commit": true, "allow_squash_merge": true, "allow_rebase_merge": true,
            "allow_auto_merge": false, "delete_branch_on_merge": false,
            "subscribers_count": 0, "network_count": 0, "custom_properties": {},
        });
        for part in [rest, counters] {
            if let Value::Object(part) = part {
                m.extend(part);
            }
        }
        if let (Some(parent), true) = (r.fork_of, with_parent) {
            m.insert("parent".into(), self.repo_inner(parent, false));
        }
        Value::Object(m)
    }

    fn repo_ref(&self, id: Option<u64>) -> Value {
        match id.and_then(|id| self.st.repos.get(&id)) {
            Some(r) => json!({
                "id": r.id, "name": r.name,
                "url": format!("{}/repos/{}", self.api, r.full_name()),
            }),
            None => Value::Null,
        }
    }

    /// The `integration` object of an app (ours, or another by slug).
    pub(super) fn app_by_slug(&self, slug: &str) -> Value {
        let s = &self.st.settings;
        let id = if slug == s.app_slug {
            s.app_id
        } else {
            foreign_app_id(slug)
        };
        let created = "2024-01-01T00:00:00Z";
        json!({
            "id": id, "slug": slug, "node_id": node_id("A", id), "client_id": format!("Iv1.{id:016x}"),
            "owner": self.user(&format!("{slug}-owner")), "name": slug, "description": "",
            "external_url": format!("https://{slug}.example.com"),
            "html_url": format!("{WEB}/apps/{slug}"), "created_at": created, "updated_at": created,
            "permissions": s.permissions, "events": self.app_events(),
        })
    }

    pub(super) fn app(&self) -> Value {
        self.app_by_slug(&self.st.settings.app_slug)
    }

    fn app_events(&self) -> Value {
        json!([
            "check_run",
            "check_suite",
            "deployment",
            "deployment_status",
            "issue_comment",
            "pull_request",
            "push",
            "status"
        ])
    }

    pub(super) fn installation(&self, i: &Installation) -> Value {
        let api = self.api;
        let account = self.st.users.get(&i.account);
        json!({
            "id": i.id, "account": self.user(&i.account), "repository_selection": "all",
            "access_tokens_url": format!("{api}/app/installations/{}/access_tokens", i.id),
            "repositories_url": format!("{api}/installation/repositories"),
            "html_url": format!("{WEB}/settings/installations/{}", i.id),
            "app_id": self.st.settings.app_id, "app_slug": self.st.settings.app_slug,
            "client_id": format!("Iv1.{:016x}", self.st.settings.app_id),
            "target_id": account.map_or(0, |a| a.id),
            "target_type": account.map_or("User", |a| a.kind.as_str()),
            "permissions": self.st.settings.permissions, "events": self.app_events(),
            "created_at": ts(&i.created_at), "updated_at": ts(&i.created_at),
            "single_file_name": null, "has_multiple_single_files": false,
            "single_file_paths": [], "suspended_by": null, "suspended_at": null,
        })
    }

    /// The `installation` stub webhook payloads carry.
    pub(super) fn installation_ref(id: u64) -> Value {
        json!({"id": id, "node_id": node_id("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", id)})
    }

    /// A `commit` (API shape) as seen in `repo`.
    pub(super) fn commit(&self, repo: u64, sha: &str) -> Value {
        let Some(c) = self.st.commits.get(sha) else {
            return Value::Null;
        };
        let full = self
            .st
            .repos
            .get(&repo)
            .map(|r| r.full_name())
            .unwrap_or_default();
        let base = format!("{}/repos/{full}", self.api);
        let person = json!({
            "name": c.author, "email": format!("{}@users.noreply.github.com", c.author),
            "date": ts(&c.date),
        });
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({"sha": p, "url": format!("{base}/commits/{p}"), "html_url": format!("{WEB}/{full}/commit/{p}")}))
            .collect();
        json!({
            "sha": c.sha, "node_id": format!("C_{}", &c.sha[..12]),
            "url": format!("{base}/commits/{sha}"), "html_url": format!("{WEB}/{full}/commit/{sha}"),
            "comments_url": format!("{base}/commits/{sha}/comments"),
            "commit": {
                "author": person, "committer": person, "message": c.message,
                "tree": {"sha": c.sha, "url": format!("{base}/git/trees/{sha}")},
                "url": format!("{base}/git/commits/{sha}"), "comment_count": 0,
                "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
            },
            "author": self.user(&c.author), "committer": self.user(&c.author), "parents": parents,
        })
    }

    /// `author_association` of a login on a repository.
    pub(super) fn association(&self, repo: u64, login: &str) -> &'static str {
        let st = self.st;
        if st.repos.get(&repo).is_some_and(|r| r.owner == login) {
            return "OWNER";
        }
        if st.role_of(repo, login).is_some() {
            return "COLLABORATOR";
        }
        let mut prs = st
            .pulls
            .values()
            .filter(|p| p.repo == repo && p.user == login);
        if prs.clone().any(|p| p.merged) {
            "CONTRIBUTOR"
        } else if prs.next().is_some() {
            "FIRST_TIME_CONTRIBUTOR"
        } else {
            "NONE"
        }
    }

    /// A full `pull-request`.
    pub(super) fn pr(&self, pr: &PullRequest) -> Value {
        let Some(repo) = self.st.repos.get(&pr.repo) else {
            return Value::Null;
        };
        let full = repo.full_name();
        let api = format!("{}/repos/{full}", self.api);
        let n = pr.number;
        let html = format!("{WEB}/{full}/pull/{n}");
        let link = |href: String| json!({"href": href});
        let cmp = self.st.compare(&pr.base_sha, &pr.head_sha);
        let changed = self.st.merge_tree(&pr.base_sha, &pr.head_sha);
        let base_tree = self.st.tree_of(&pr.base_sha);
        let changed_files = changed
            .iter()
            .filter(|(p, v)| base_tree.get(*p) != Some(*v))
            .count()
            + base_tree
                .keys()
                .filter(|p| !changed.contains_key(*p))
                .count();
        let comments = self
            .st
            .comments
            .values()
            .filter(|c| c.repo == pr.repo && c.issue_number == n)
            .count();
        let open = pr.state == "open";
        let mergeable_state = match (open, pr.draft, pr.mergeable) {
            (true, true, _) => "draft",
            (true, false, false) => "dirty",
            (true, false, true) => "clean",
            (false, _, _) => "unknown",
        };
        let mut v = json!({
            "url": format!("{api}/pulls/{n}"), "id": pr.id, "node_id": node_id("PR", pr.id),
            "html_url": html, "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
            "issue_url": format!("{api}/issues/{n}"), "number": n, "state": pr.state,
            "locked": false, "title": pr.title, "user": self.user(&pr.user), "body": pr.body,
            "labels": [], "milestone": null, "active_lock_reason": null,
            "created_at": ts(&pr.created_at), "updated_at": ts(&pr.updated_at),
            "closed_at": ts_opt(pr.closed_at.as_ref()), "merged_at": ts_opt(pr.merged_at.as_ref()),
            "merge_commit_sha": pr.merge_commit_sha, "assignee": null, "assignees": [],
            "requested_reviewers": [], "requested_teams": [],
            "commits_url": format!("{api}/pulls/{n}/commits"),
            "review_comments_url": format!("{api}/pulls/{n}/comments"),
            "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
            "comments_url": format!("{api}/issues/{n}/comments"),
            "statuses_url": format!("{api}/statuses/{}", pr.head_sha),
        });
        let head = json!({
            "label": format!("{}:{}", pr.head_owner, pr.head_ref), "ref": pr.head_ref,
            "sha": pr.head_sha, "user": self.user(&pr.head_owner),
            "repo": pr.head_repo.map_or(Value::Null, |id| self.repo(id)),
        });
        let base = json!({
            "label": format!("{}:{}", repo.owner, pr.base_ref), "ref": pr.base_ref,
            "sha": pr.base_sha, "user": self.user(&repo.owner), "repo": self.repo(pr.repo),
        });
        let links = json!({
            "self": link(format!("{api}/pulls/{n}")), "html": link(html.clone()),
            "issue": link(format!("{api}/issues/{n}")),
            "comments": link(format!("{api}/issues/{n}/comments")),
            "review_comments": link(format!("{api}/pulls/{n}/comments")),
            "review_comment": link(format!("{api}/pulls/comments{{/number}}")),
            "commits": link(format!("{api}/pulls/{n}/commits")),
            "statuses": link(format!("{api}/statuses/{}", pr.head_sha)),
        });
        let state = json!({
            "head": head, "base": base, "_links": links,
            "author_association": self.association(pr.repo, &pr.user), "auto_merge": null,
            "draft": pr.draft, "merged": pr.merged,
            "mergeable": if open { Value::Bool(pr.mergeable) } else { Value::Null },
            "rebaseable": if open { Value::Bool(pr.mergeable) } else { Value::Null },
            "mergeable_state": mergeable_state,
            "merged_by": pr.merged_by.as_deref().map_or(Value::Null, |u| self.user(u)),
            "comments": comments, "review_comments": 0, "maintainer_can_modify": false,
            "commits": cmp.map_or(0, |c| c.ahead_by), "additions": 0, "deletions": 0,
            "changed_files": changed_files,
        });
        merge(&mut v, state);
        v
    }

    /// A `pull-request-minimal` (as in check suites/runs).
    pub(super) fn pr_minimal(&self, pr: &PullRequest) -> Value {
        let full = self
            .st
            .repos
            .get(&pr.repo)
            .map(|r| r.full_name())
            .unwrap_or_default();
        json!({
            "url": format!("{}/repos/{full}/pulls/{}", self.api, pr.number), "id": pr.id,
            "number": pr.number,
            "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": self.repo_ref(pr.head_repo)},
            "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": self.repo_ref(Some(pr.repo))},
        })
    }

    pub(super) fn rollup(&self, url: String, comment: Option<u64>) -> Value {
        let mut m = Map::new();
        m.insert("url".into(), Value::String(url));
        let reactions: Vec<&Reaction> = self
            .st
            .reactions
            .values()
            .filter(|r| comment.is_some_and(|c| r.comment_id == c))
            .collect();
        m.insert("total_count".into(), reactions.len().into());
        for k in [
            "+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes",
        ] {
            let n = reactions.iter().filter(|r| r.content == k).count();
            m.insert(k.into(), n.into());
        }
        Value::Object(m)
    }

    /// An `issue` (for a PR number: with `pull_request` and `draft`).
    pub(super) fn issue(&self, repo: u64, number: u64) -> Value {
        let Some(r) = self.st.repos.get(&repo) else {
            return Value::Null;
        };
        let full = r.full_name();
        let api = format!("{}/repos/{full}/issues/{number}", self.api);
        let comments = self
            .st
            .comments
            .values()
            .filter(|c| c.repo == repo && c.issue_number == number)
            .count();
        let mut v = json!({
            "url": api, "repository_url": format!("{}/repos/{full}", self.api),
            "labels_url": format!("{api}/labels{{/name}}"), "comments_url": format!("{api}/comments"),
            "events_url": format!("{api}/events"), "number": number, "labels": [],
            "locked": false, "assignee": null, "assignees": [], "milestone": null,
            "comments": comments, "active_lock_reason": null,
            "reactions": self.rollup(format!("{api}/reactions"), None),
            "performed_via_github_app": null, "state_reason": null,
        });
        if let Some(pr) = self.st.pulls.get(&(repo, number)) {
            let html = format!("{WEB}/{full}/pull/{number}");
            let extra = json!({
                "id": pr.id, "node_id": node_id("I", pr.id), "html_url": html, "title": pr.title,
                "user": self.user(&pr.user), "state": pr.state, "body": pr.body, "draft": pr.draft,
                "created_at": ts(&pr.created_at), "updated_at": ts(&pr.updated_at),
                "closed_at": ts_opt(pr.closed_at.as_ref()),
                "author_association": self.association(repo, &pr.user),
                "pull_request": {
                    "url": format!("{}/repos/{full}/pulls/{number}", self.api), "html_url": html,
                    "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
                    "merged_at": ts_opt(pr.merged_at.as_ref()),
                },
            });
            merge(&mut v, extra);
        } else if let Some(i) = self.st.issues.get(&(repo, number)) {
            let extra = json!({
                "id": i.id, "node_id": node_id("I", i.id),
                "html_url": format!("{WEB}/{full}/issues/{number}"), "title": i.title,
                "user": self.user(&i.user), "state": "open", "body": null,
                "created_at": ts(&i.created_at), "updated_at": ts(&i.created_at), "closed_at": null,
                "author_association": self.association(repo, &i.user),
            });
            merge(&mut v, extra);
        }
        v
    }
}

/// Shallow-merges the keys of `extra` into the object `v`.
pub(super) fn merge(v: &mut Value, extra: Value) {
    if let (Value::Object(m), Value::Object(e)) = (v, extra) {
        m.extend(e);
    }
}
