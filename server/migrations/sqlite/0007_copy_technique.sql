-- How a follower's or fork's data was copied (clone or basebackup) and why,
-- recorded before the copy starts so a restart in between keeps it.
ALTER TABLE database_status ADD COLUMN copy_json TEXT;
