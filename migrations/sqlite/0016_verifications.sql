-- Verification after an environment deployment: one row per deployment the policy's `verify:`
-- covers, keyed on that deployment (env_deployments.id; GitHub's deployment id beside it), so
-- a restart finds the deploy already done and the verification where it stopped.
-- Keep in step with ../postgres/0016_verifications.sql (a test compares them).
-- 0014 and 0015 are left to another branch; the numbers need not be contiguous.

CREATE TABLE verifications (
    env_deployment_id BIGINT PRIMARY KEY,
    repo_id           BIGINT NOT NULL,
    environment       TEXT NOT NULL,
    deployment_id     BIGINT,                    -- GitHub's deployment, when it exists
    sha               TEXT NOT NULL,
    command           BIGINT NOT NULL DEFAULT 0, -- the policy asks for GANGWAY_VERIFY_COMMAND
    checks            TEXT NOT NULL DEFAULT '[]',-- the checks the policy names (JSON list)
    command_state     TEXT,                      -- NULL until the command ran: passed | failed
    state             TEXT NOT NULL,             -- running | passed | failed | timed_out
    detail            TEXT,                      -- why it failed, for people
    started_at        BIGINT NOT NULL,
    deadline          BIGINT NOT NULL,
    finished_at       BIGINT
);
CREATE INDEX verifications_env ON verifications (repo_id, environment, started_at);
