-- Public status: which databases strangers may see, and every phase a
-- database went through, for uptime over the last day and week.

ALTER TABLE databases ADD COLUMN public INTEGER NOT NULL DEFAULT 0;

CREATE TABLE phase_history (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    phase   TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX phase_history_by_name ON phase_history (name, id);
