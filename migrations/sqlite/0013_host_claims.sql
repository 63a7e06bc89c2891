-- Who holds each host: one pull request's previews (kind 'preview', its repository and
-- number) or one long-lived environment (kind 'environment', its repository and name). The
-- host is the primary key, so across every replica no two holders share a host; a preview's
-- claim goes when its last preview at that host is torn down, an environment's stays.
-- Keep in step with ../postgres/0013_host_claims.sql (a test compares them).
-- 0011 to 0014 are left to other branches; the numbers need not be contiguous.

CREATE TABLE host_claims (
    host        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,                   -- preview | environment
    repo_id     BIGINT NOT NULL,
    pr_number   BIGINT NOT NULL DEFAULT 0,       -- the pull request (0 for an environment)
    environment TEXT NOT NULL DEFAULT '',        -- the environment ('' for a preview)
    claimed_at  BIGINT NOT NULL
);
CREATE INDEX host_claims_repo ON host_claims (repo_id);

-- Previews standing when this version starts keep their hosts: the oldest of any that share
-- one holds it (a teardown of the others then leaves that host alone).
INSERT INTO host_claims (host, kind, repo_id, pr_number, environment, claimed_at)
SELECT host, 'preview', repo_id, pr_number, '', created_at FROM previews
WHERE state <> 'torn_down' ORDER BY id
ON CONFLICT (host) DO NOTHING;
