-- The policy cache no longer reads the default branch's head commit before the file: it reads
-- .github/gangway.yml at the branch directly (one API call instead of two) and keeps the file's
-- blob sha ('none' when there is no file) as the version it read.
-- Keep in step with ../sqlite/0008_policy_version.sql (a test compares them).

ALTER TABLE repo_policies RENAME COLUMN branch_sha TO version;
