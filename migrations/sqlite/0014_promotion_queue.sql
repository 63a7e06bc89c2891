-- The promotion queue: a /promote into an environment (or target) that is busy, or a target
-- beyond promotion.max_parallel_targets, waits here and starts when it is free, under the
-- promotion rules as they are then. The targets of one /promote share a batch.
-- Keep in step with ../postgres/0014_promotion_queue.sql (a test compares them).

CREATE TABLE promotion_queue (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id           BIGINT NOT NULL,
    family            TEXT NOT NULL,              -- the environment as the policy names it
    environment       TEXT NOT NULL,              -- what is deployed: it, or a target (production-au)
    sha               TEXT NOT NULL,
    pr_number         BIGINT,
    requested_by      TEXT NOT NULL,
    force             BIGINT NOT NULL DEFAULT 0,
    batch             TEXT NOT NULL,
    state             TEXT NOT NULL,              -- waiting | started | superseded | cancelled | halted | refused
    reason            TEXT,
    env_deployment_id BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX promotion_queue_family ON promotion_queue (repo_id, family, state, id);
CREATE INDEX promotion_queue_deployment ON promotion_queue (env_deployment_id);
