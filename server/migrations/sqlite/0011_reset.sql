-- Reset from the source: how many resets were asked for (desired, in the
-- spec) and which one the data on disk was made for (observed). Data made
-- for an older one is stale: it is removed and copied again.
ALTER TABLE databases ADD COLUMN reset_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE database_status ADD COLUMN made_generation BIGINT NOT NULL DEFAULT 0;
