-- Masking rules (issue 16): fork_policy may be 'masked'.
ALTER TABLE databases DROP CONSTRAINT databases_fork_policy_check;
ALTER TABLE databases ADD CONSTRAINT databases_fork_policy_check
    CHECK (fork_policy IN ('open', 'approval', 'masked'));
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
ALTER TABLE fork_requests ADD COLUMN unmasked BOOLEAN NOT NULL DEFAULT FALSE;
