-- Commits Gangway has heard a check signal for (a completed check suite with runs, a commit
-- status): a PR's evaluation reads checks from GitHub only for a head commit listed here (or
-- when a check event, the reconciler or a command asks), so opening a PR costs no check reads
-- while its CI has not reported. Rows for commits with no PR yet are kept too (checks that
-- finished before the PR was opened). Pruned with the other old rows (retention period).
-- Keep in step with ../postgres/0009_check_signals.sql (a test compares them).

CREATE TABLE check_signals (
    repo_id BIGINT NOT NULL,
    sha     TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (repo_id, sha)
);
CREATE INDEX check_signals_seen_at ON check_signals (seen_at);
