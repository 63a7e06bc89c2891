-- Whether a pull request's author is a bot account (GitHub's `type: Bot`, or a login ending in
-- `[bot]`): the policy's `preview.bots` decides whether such a PR waits for a maintainer's
-- `/stage`, as a fork's does. Rows written before this column read 0; the engine also looks at
-- the login itself, so dependabot's and renovate's PRs are known as bots either way.
-- Keep in step with ../postgres/0012_pr_author_bot.sql (a test compares them).

ALTER TABLE pull_requests ADD COLUMN author_bot BIGINT NOT NULL DEFAULT 0;
