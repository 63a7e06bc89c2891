-- Long-lived environments (staging, production): each deployment to one, holds that stop
-- deploys, commits marked bad, and the train's state and PR notices.
-- Keep in step with ../postgres/0005_environments.sql (a test compares them).

CREATE TABLE env_deployments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id          BIGINT NOT NULL,
    environment      TEXT NOT NULL,
    sha              TEXT NOT NULL,
    kind             TEXT NOT NULL,              -- promote | rollback | train
    requested_by     TEXT NOT NULL,
    pr_number        BIGINT,
    reason           TEXT,                       -- why, for people: "rollback by @ann: abc1234 marked bad"
    state            TEXT NOT NULL,              -- pending | deploying | live | failed | inactive
    deployment_id    BIGINT,                     -- GitHub's deployment
    create_attempted BIGINT NOT NULL DEFAULT 0,  -- a create was sent; on retry, look before creating
    detail           TEXT,                       -- why it failed / went inactive
    log_token        TEXT NOT NULL,
    log              TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    live_at          BIGINT,
    finished_at      BIGINT
);
-- The database itself guarantees one deployment at a time per environment, across processes.
CREATE UNIQUE INDEX env_deployments_one_running ON env_deployments (repo_id, environment) WHERE state IN ('pending', 'deploying');
CREATE INDEX env_deployments_env ON env_deployments (repo_id, environment, id);
CREATE UNIQUE INDEX env_deployments_log_token ON env_deployments (log_token);
CREATE INDEX env_deployments_deployment ON env_deployments (deployment_id);

-- `/hold`: no deploys to the environment until released.
CREATE TABLE env_holds (
    repo_id     BIGINT NOT NULL,
    environment TEXT NOT NULL,
    held_by     TEXT NOT NULL,
    reason      TEXT,
    held_at     BIGINT NOT NULL,
    PRIMARY KEY (repo_id, environment)
);

-- Commits never to deploy again (rollbacks skip them).
CREATE TABLE bad_shas (
    repo_id     BIGINT NOT NULL,
    sha         TEXT NOT NULL,
    environment TEXT NOT NULL,                   -- where it was found bad
    marked_by   TEXT NOT NULL,
    reason      TEXT,
    marked_at   BIGINT NOT NULL,
    PRIMARY KEY (repo_id, sha)
);

-- The train of each repository: opaque JSON owned by the engine.
CREATE TABLE trains (
    repo_id    BIGINT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The comment telling a PR where it stands in the train.
CREATE TABLE train_notices (
    repo_id    BIGINT NOT NULL,
    pr_number  BIGINT NOT NULL,
    comment_id BIGINT,
    body       TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repo_id, pr_number)
);
