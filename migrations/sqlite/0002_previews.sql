-- Pull requests as last seen, their preview environments, and cached repository policies.
-- Keep in step with ../postgres/0002_previews.sql (a test compares them).

CREATE TABLE pull_requests (
    repo_id           BIGINT NOT NULL,
    number            BIGINT NOT NULL,
    installation_id   BIGINT NOT NULL,
    repo_full_name    TEXT NOT NULL,
    default_branch    TEXT NOT NULL,
    head_sha          TEXT NOT NULL,
    head_ref          TEXT NOT NULL,
    is_fork           BIGINT NOT NULL,
    draft             BIGINT NOT NULL,
    state             TEXT NOT NULL,             -- open | closed
    merged            BIGINT NOT NULL,
    author            TEXT NOT NULL,
    gh_updated_at     TEXT NOT NULL,             -- GitHub's updated_at: orders out-of-order events
    sticky_comment_id BIGINT,
    sticky_body       TEXT,
    sticky_attempted  BIGINT NOT NULL DEFAULT 0, -- a create was sent; on retry, look before creating
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (repo_id, number)
);
CREATE INDEX pull_requests_head ON pull_requests (repo_id, head_sha);

CREATE TABLE previews (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id          BIGINT NOT NULL,
    pr_number        BIGINT NOT NULL,
    sha              TEXT NOT NULL,
    environment      TEXT NOT NULL,
    host             TEXT NOT NULL,
    driver           TEXT NOT NULL,              -- command | external
    deployment_id    BIGINT,
    create_attempted BIGINT NOT NULL DEFAULT 0,  -- a create was sent; on retry, look before creating
    adopted          BIGINT NOT NULL DEFAULT 0,  -- the deployment was created by someone else
    state            TEXT NOT NULL,              -- pending | deploying | live | failed | tearing_down | torn_down
    last_status      TEXT,                       -- the last deployment status Gangway posted
    environment_url  TEXT,
    detail           TEXT,                       -- why it failed / was torn down
    log_token        TEXT NOT NULL,
    log              TEXT,
    requested_by     TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    deployed_at      BIGINT,
    torn_down_at     BIGINT,
    updated_at       BIGINT NOT NULL
);
-- Never two previews (so never two GitHub deployments) for one PR and commit.
CREATE UNIQUE INDEX previews_pr_sha ON previews (repo_id, pr_number, sha);
CREATE UNIQUE INDEX previews_log_token ON previews (log_token);
CREATE INDEX previews_deployment ON previews (deployment_id);

CREATE TABLE repo_policies (
    repo_id     BIGINT PRIMARY KEY,
    branch_sha  TEXT NOT NULL,                   -- default branch head the policy was read at
    body        TEXT,                            -- the file; NULL when absent
    checked_at  BIGINT NOT NULL
);
