DROP TRIGGER people_sync_names ON people;
DROP FUNCTION people_sync_names();
ALTER TABLE people DROP COLUMN full_name;
