-- Desired state: what users asked for. Written by requests, read by the
-- reconciler, which never writes observations here.
CREATE TABLE databases (
    name                 TEXT PRIMARY KEY NOT NULL,
    plan                 TEXT NOT NULL,
    -- How the data is made: 'empty', 'follow' or 'fork'.
    origin               TEXT NOT NULL CHECK (origin IN ('empty', 'follow', 'fork')),
    source               TEXT,
    -- A port belongs to one database for its whole life; the constraint
    -- is what keeps two from ever sharing one.
    port                 INTEGER NOT NULL UNIQUE,
    pg_user              TEXT NOT NULL,
    pg_password          TEXT NOT NULL,
    pg_database          TEXT NOT NULL,
    replication_password TEXT NOT NULL,
    desired              TEXT NOT NULL DEFAULT 'running' CHECK (desired IN ('running', 'deleted')),
    take_followers       INTEGER NOT NULL DEFAULT 0,
    promote              INTEGER NOT NULL DEFAULT 0,
    idempotency_key      TEXT UNIQUE,
    created_at           TEXT NOT NULL
);

-- Observed state: what the reconciler last saw. Kept apart from the spec so
-- a request never overwrites an observation and the reverse.
CREATE TABLE database_status (
    name            TEXT PRIMARY KEY NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
    phase           TEXT NOT NULL,
    message         TEXT,
    -- The database it streams from right now (cleared by promotion).
    following       TEXT,
    progress_json   TEXT,
    lag_json        TEXT,
    info_json       TEXT,
    updated_at      TEXT NOT NULL
);

-- Every published event, so a client that reconnects gets what it missed.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    database    TEXT NOT NULL,
    payload     TEXT NOT NULL,
    at          TEXT NOT NULL
);
