-- The pull request's title, shown on the dashboard ('' until the next event or read tells it).
-- Keep in step with ../postgres/0024_pr_title.sql (a test compares them).
ALTER TABLE pull_requests ADD COLUMN title TEXT NOT NULL DEFAULT '';
