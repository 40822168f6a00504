-- Desired state: what users asked for. Written by requests, read by the
-- reconciler.
CREATE TABLE databases (
    name            TEXT PRIMARY KEY NOT NULL,
    plan            TEXT NOT NULL,
    -- 'empty', 'follow' or 'fork': how the database is made.
    origin          TEXT NOT NULL,
    source          TEXT,
    created_at      TEXT NOT NULL
);

-- Observed state: what the reconciler last saw. Kept apart from the spec so
-- a request never overwrites an observation and the reverse.
CREATE TABLE database_status (
    name            TEXT PRIMARY KEY NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
    phase           TEXT NOT NULL,
    message         TEXT,
    progress_json   TEXT,
    lag_json        TEXT,
    info_json       TEXT,
    updated_at      TEXT NOT NULL
);
