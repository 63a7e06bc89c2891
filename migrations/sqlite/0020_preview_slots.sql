-- Previews a team can live with: the fixed pool of slots, each PR's last slot, and pins.
-- Keep in step with ../postgres/0020_preview_slots.sql (a test compares them).
-- 0014 to 0019 are left to other branches; the numbers need not be contiguous.

-- Who holds each slot of a repository (`preview.slots`). The primary key makes one holder
-- per slot across every replica, the unique index one slot per pull request; a takeover is
-- one conditional UPDATE of the row. `deployed_at`: when the slot was last deployed to
-- (or given), which the least recently deployed slot is taken by.
CREATE TABLE preview_slots (
    repo_id     BIGINT NOT NULL,
    slot        TEXT NOT NULL,
    pr_number   BIGINT NOT NULL,
    deployed_at BIGINT NOT NULL,
    PRIMARY KEY (repo_id, slot)
);
CREATE UNIQUE INDEX preview_slots_pr ON preview_slots (repo_id, pr_number);

-- The slot each pull request held last, so it gets the same one back when that is free.
CREATE TABLE preview_last_slots (
    repo_id   BIGINT NOT NULL,
    pr_number BIGINT NOT NULL,
    slot      TEXT NOT NULL,
    PRIMARY KEY (repo_id, pr_number)
);

-- `/keep`: a pull request's preview is exempt from the idle TTL and from eviction until then.
CREATE TABLE preview_keeps (
    repo_id    BIGINT NOT NULL,
    pr_number  BIGINT NOT NULL,
    until_ms   BIGINT NOT NULL,
    kept_by    TEXT NOT NULL,
    PRIMARY KEY (repo_id, pr_number)
);
