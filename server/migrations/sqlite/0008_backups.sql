-- Point-in-time forks, backups and archiving.
-- Desired: the moment a fork is made as of, and when a backup was last
-- asked for (one newer than that is wanted).
ALTER TABLE databases ADD COLUMN fork_point_json TEXT;
ALTER TABLE databases ADD COLUMN backup_wanted_at TEXT;
-- Observed: the moments a fork can be made as of, and how archiving stands.
ALTER TABLE database_status ADD COLUMN restore_window_json TEXT;
ALTER TABLE database_status ADD COLUMN archiving_json TEXT;
-- A member's fork request may ask for a moment too.
ALTER TABLE fork_requests ADD COLUMN fork_point_json TEXT;
