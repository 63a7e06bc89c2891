-- Timers: leases so each sweep runs once per interval across replicas, a record of each run,
-- conditional-request caches, and what the reaper needs to know.
-- Keep in step with ../sqlite/0004_timers.sql (a test compares them).

CREATE TABLE timers (
    name        TEXT PRIMARY KEY,
    owner       TEXT,
    last_run_at BIGINT NOT NULL
);

CREATE TABLE timer_runs (
    id    BIGSERIAL PRIMARY KEY,
    name  TEXT NOT NULL,
    owner TEXT NOT NULL,
    at    BIGINT NOT NULL,
    note  TEXT NOT NULL
);
CREATE INDEX timer_runs_name_at ON timer_runs (name, at);

-- GitHub answers kept with their ETag, so an unchanged page costs no rate limit.
CREATE TABLE etags (
    route      TEXT PRIMARY KEY,
    etag       TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- When the PR's head commit was first seen (superseded previews have a grace period from then).
ALTER TABLE pull_requests ADD COLUMN head_since BIGINT NOT NULL DEFAULT 0;
-- Why a preview was torn down: closed | superseded | unstaged | expired | evicted | lost_access | operator.
ALTER TABLE previews ADD COLUMN teardown_kind TEXT;
-- 0: webhooks and commands; 1: timer work, which yields to them.
ALTER TABLE jobs ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_due_priority ON jobs (state, priority, run_at, id);
