-- Which commit each merged pull request became on its base branch, so the train can tell the
-- pull requests it carries when their change arrives.
-- Keep in step with ../sqlite/0006_merges.sql (a test compares them).

CREATE TABLE merged_pulls (
    repo_id    BIGINT NOT NULL,
    pr_number  BIGINT NOT NULL,
    merge_sha  TEXT NOT NULL,
    merged_at  BIGINT NOT NULL,
    PRIMARY KEY (repo_id, pr_number)
);
CREATE INDEX merged_pulls_sha ON merged_pulls (repo_id, merge_sha);
