-- The train's sign-off round before production (`train.signoff: authors`): one row per pull
-- request carried by the commit going to production, asked once, answered /good or /bad.
-- Keep in step with ../sqlite/0017_signoffs.sql (a test compares them).

CREATE TABLE signoffs (
    repo_id     BIGINT NOT NULL,
    sha         TEXT NOT NULL,                   -- the commit the train carries to production
    pr_number   BIGINT NOT NULL,
    author      TEXT NOT NULL,                   -- the pull request's author: who may say /good
    asked_at    BIGINT NOT NULL,
    comment_id  BIGINT,                          -- the question, once posted
    answer      TEXT,                            -- NULL until answered: good | bad
    answered_by TEXT,
    reason      TEXT,
    answered_at BIGINT,
    stop_told   BIGINT NOT NULL DEFAULT 0,       -- told that the round timed out and stopped the train
    PRIMARY KEY (repo_id, sha, pr_number)
);
CREATE INDEX signoffs_pr ON signoffs (repo_id, pr_number);
