-- Maintainer commands: approvals pinned to a commit, the /unstage pause, and each command's run.
-- Keep in step with ../sqlite/0003_commands.sql (a test compares them).

CREATE TABLE approvals (
    id          BIGSERIAL PRIMARY KEY,
    repo_id     BIGINT NOT NULL,
    pr_number   BIGINT NOT NULL,
    sha         TEXT NOT NULL,                  -- the head commit read from GitHub when /stage ran
    approver    TEXT NOT NULL,
    permission  TEXT NOT NULL,                  -- the approver's permission as GitHub answered
    comment_url TEXT NOT NULL,
    approved_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX approvals_pr_sha ON approvals (repo_id, pr_number, sha);

ALTER TABLE pull_requests ADD COLUMN unstaged_by TEXT;

CREATE TABLE commands (
    comment_id  BIGINT PRIMARY KEY,             -- one run per comment, whatever redeliveries happen
    repo_id     BIGINT NOT NULL,
    pr_number   BIGINT NOT NULL,
    author      TEXT NOT NULL,
    command     TEXT NOT NULL,
    decision    TEXT,                           -- accepted | refused
    reason      TEXT,
    replied     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);
