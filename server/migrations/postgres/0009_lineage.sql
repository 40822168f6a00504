-- A promoted follower keeps its past in its lineage: when it stopped
-- following (its source stays in databases.source).
ALTER TABLE database_status ADD COLUMN followed_until TEXT;

-- Measurements over time (the lag chart, the metrics API): one row per
-- database and moment, the values as JSON so a new metric needs no
-- migration. `at` is Unix milliseconds, for cheap range scans.
CREATE TABLE samples (
    name        TEXT NOT NULL REFERENCES databases(name) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    values_json TEXT NOT NULL
);
CREATE INDEX samples_by_name ON samples (name, at);
