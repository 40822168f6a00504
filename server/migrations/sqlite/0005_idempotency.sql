-- Idempotency keys belong to their caller and remember the request they
-- answered, so another caller's key never returns someone else's database
-- and a key reused with a different body is refused. The first answer is
-- kept for the retention time even after the database is destroyed.
-- `databases.idempotency_key` (global) is no longer written.

CREATE TABLE idempotency_keys (
    caller      TEXT NOT NULL,
    key         TEXT NOT NULL,
    -- SHA-256 of the request's fields; '' for keys from before this table,
    -- which match any body.
    fingerprint TEXT NOT NULL,
    database    TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (caller, key)
);

INSERT INTO idempotency_keys (caller, key, fingerprint, database, response, created_at)
    SELECT CASE WHEN idempotency_key LIKE 'fork-request-%' THEN 'pgfleet' ELSE coalesce(owner, '') END,
           idempotency_key, '', name, '', created_at
    FROM databases WHERE idempotency_key IS NOT NULL;
