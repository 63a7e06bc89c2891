-- /stage approves the commit that was the head when the comment was written, judged by GitHub's
-- clock. pull_heads keeps when GitHub said a commit was a PR's head (model::HeadSeen): exact = 1
-- for the push's own delivery (opened, synchronize), 0 for a later look (an upper bound). A
-- /stage comment's decision is made once: commands.stage_sha is the commit it approved, and
-- every retry of the command approves that one, never a newer head. Rows of closed PRs are
-- pruned with the other old rows (retention period).
-- Keep in step with ../postgres/0011_stage_decisions.sql (a test compares them).

CREATE TABLE pull_heads (
    repo_id     BIGINT NOT NULL,
    pr_number   BIGINT NOT NULL,
    sha         TEXT NOT NULL,
    at          BIGINT NOT NULL,
    exact       BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (repo_id, pr_number, sha, at, exact)
);

ALTER TABLE commands ADD COLUMN stage_sha TEXT;
