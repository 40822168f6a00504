-- A database's additional login roles (`pg:credentials:create`), as JSON:
-- name, access, password, who made it and when, and `dropped` for one
-- destroyed (kept so every copy of the database drops it too). NULL: none.
ALTER TABLE databases ADD COLUMN roles_json TEXT;
