-- Commands run from the dashboard's buttons: one row per click, written by the web side before
-- it queues the command job, and finished by the executor under the same rules as a PR comment
-- command (a retried job finds the decision here and does not act twice).
-- Keep in step with ../postgres/0023_dashboard_actions.sql (a test compares them).

CREATE TABLE dashboard_actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id     BIGINT NOT NULL,
    pr_number   BIGINT NOT NULL,
    actor       TEXT NOT NULL,                  -- the signed-in GitHub login who clicked
    command     TEXT NOT NULL,                  -- stage | unstage | promote | hold | unhold | rollback
    args        TEXT NOT NULL,                  -- as a comment would carry them (`/stage <sha>`)
    created_at  BIGINT NOT NULL,
    started_at  BIGINT,                         -- when the executor first took it up
    stage_sha   TEXT,                           -- the commit a stage approved, once decided
    decision    TEXT,                           -- accepted | refused | ignored
    forbidden   BIGINT NOT NULL DEFAULT 0,      -- refused or ignored for want of permission
    outcome     TEXT,                           -- the text the dashboard shows
    announced   BIGINT NOT NULL DEFAULT 0,      -- an announcement was posted on the PR
    finished_at BIGINT
);
CREATE INDEX dashboard_actions_pr ON dashboard_actions (repo_id, pr_number, actor, created_at);
