-- Gangway schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql (a test compares them).
-- Portable types only: BIGINT for integers and flags, TEXT for strings and JSON,
-- BIGINT unix milliseconds for times.

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,          -- X-GitHub-Delivery
    event           TEXT NOT NULL,             -- X-GitHub-Event
    action          TEXT,
    installation_id BIGINT,
    repo_id         BIGINT,
    received_at     BIGINT NOT NULL,
    payload         TEXT NOT NULL,             -- raw JSON body; empty for ignored events
    outcome         TEXT NOT NULL,             -- queued | ignored | processed | failed
    detail          TEXT,
    processed_at    BIGINT
);
CREATE INDEX deliveries_received_at ON deliveries (received_at);

CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,                -- serialization key: one running job per key
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,                -- queued | running | done | dead
    run_at       BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    delivery_id  TEXT,
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT
);
CREATE INDEX jobs_due ON jobs (state, run_at, id);
CREATE INDEX jobs_delivery ON jobs (delivery_id);
-- The database itself guarantees one running job per key, across processes.
CREATE UNIQUE INDEX jobs_one_running_per_key ON jobs (key) WHERE state = 'running';

CREATE TABLE installations (
    id         BIGINT PRIMARY KEY,
    account    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE repositories (
    id              BIGINT PRIMARY KEY,
    installation_id BIGINT NOT NULL,
    full_name       TEXT NOT NULL,
    added_at        BIGINT NOT NULL,
    removed_at      BIGINT
);
CREATE INDEX repositories_installation ON repositories (installation_id);

CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    delivery_id TEXT,
    repo_id     BIGINT,
    pr_number   BIGINT,
    subject     TEXT NOT NULL,                 -- what the decision was about
    decision    TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX audit_repo_pr ON audit (repo_id, pr_number, at);
