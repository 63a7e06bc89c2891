-- The files a pull request changed, read once per head commit from GitHub for the sticky
-- comment's links into the live preview (`preview.routes`): one row per pull request, for
-- its latest head read. `files`: the paths as a JSON array.
-- Keep in step with ../sqlite/0021_pr_files.sql (a test compares them).

CREATE TABLE pr_files (
    repo_id   BIGINT NOT NULL,
    pr_number BIGINT NOT NULL,
    sha       TEXT NOT NULL,
    files     TEXT NOT NULL,
    PRIMARY KEY (repo_id, pr_number)
);
