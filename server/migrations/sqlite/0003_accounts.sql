-- Accounts, sessions, per-user tokens, protection and fork policy, fork
-- requests with time to live, the admins' guard rails, and the audit log.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    -- argon2id, PHC string format.
    password_hash        TEXT NOT NULL,
    -- Set by a one-time password; cleared when the owner chooses their own.
    must_change_password INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL
);

-- Tokens made before accounts existed belong to the first admin (set at
-- start-up, when that admin is created).
ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;

-- Console sessions. As with tokens, only a hash of the cookie is kept.
CREATE TABLE sessions (
    sha256      TEXT PRIMARY KEY NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Sent back by the browser in X-CSRF-Token on every state change.
    csrf        TEXT NOT NULL,
    address     TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

-- Desired state grows who owns a database and the rules around it.
ALTER TABLE databases ADD COLUMN owner TEXT;
ALTER TABLE databases ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE databases ADD COLUMN fork_policy TEXT NOT NULL DEFAULT 'open' CHECK (fork_policy IN ('open', 'approval'));
ALTER TABLE databases ADD COLUMN expires_at TEXT;

CREATE TABLE fork_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    requester       TEXT NOT NULL,
    source          TEXT NOT NULL,
    -- The fork's name, reserved while the request is open.
    name            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    ttl_seconds     INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'provisioning',
                                                   'available', 'expired', 'failed', 'destroyed')),
    decided_by      TEXT,
    decision_reason TEXT,
    message         TEXT,
    created_at      TEXT NOT NULL,
    decided_at      TEXT
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    database  TEXT,
    address   TEXT,
    outcome   TEXT NOT NULL,
    detail    TEXT
);
