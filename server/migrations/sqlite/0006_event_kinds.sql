-- The replay log keeps what happened (phases, restarts, changes) for a
-- week and measurements (lag, sizes, copy progress) only briefly, so a
-- fleet of busy followers never pushes phase changes out of it.

ALTER TABLE events ADD COLUMN kind TEXT NOT NULL DEFAULT '';
UPDATE events SET kind = coalesce(json_extract(payload, '$.kind'), '');
CREATE INDEX events_by_kind ON events (kind, id);
