-- Masking rules (issue 16). fork_policy may be 'masked': SQLite cannot
-- alter a CHECK constraint, so the column is dropped and added again with
-- the new one, its values kept aside meanwhile (a table rebuild would need
-- foreign keys off, which cannot change inside the migration's
-- transaction, and dropping `databases` would cascade to its status).
ALTER TABLE databases ADD COLUMN fork_policy_was TEXT;
UPDATE databases SET fork_policy_was = fork_policy;
ALTER TABLE databases DROP COLUMN fork_policy;
ALTER TABLE databases ADD COLUMN fork_policy TEXT NOT NULL DEFAULT 'open'
    CHECK (fork_policy IN ('open', 'approval', 'masked'));
UPDATE databases SET fork_policy = fork_policy_was;
ALTER TABLE databases DROP COLUMN fork_policy_was;
-- A fork of a database with masking rules made unmasked (an admin's
-- leave): why. NULL: masked by its source's rules, if it has any.
ALTER TABLE databases ADD COLUMN unmasked_reason TEXT;
-- Every version of a database's masking rules; the highest is in force.
-- `salt` keys its hashes (the same in every version, so a fork's hashes
-- match across tables and resets).
CREATE TABLE masking_rules (
    name        TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    rules_json  TEXT NOT NULL,
    rules_count BIGINT NOT NULL,
    salt        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT,
    PRIMARY KEY (name, version)
);
-- Observed: how far a fork's masking got ('begun' or 'done') and with
-- which version of its source's rules. Data whose masking began and did
-- not finish is made again.
ALTER TABLE database_status ADD COLUMN mask_state TEXT;
ALTER TABLE database_status ADD COLUMN mask_version BIGINT;
-- A request for an unmasked fork of a database with masking rules.
ALTER TABLE fork_requests ADD COLUMN unmasked INTEGER NOT NULL DEFAULT 0;
