-- schemagate: contract
-- Contract: release 1 reads name, so this runs only once no release-1 instance is live. Release 2
-- works before and after it, so its daemons are ready at version 2 and apply this themselves.
DROP TRIGGER people_sync_names ON people;
DROP FUNCTION people_sync_names();
ALTER TABLE people DROP COLUMN name;
ALTER TABLE people ALTER COLUMN full_name SET NOT NULL;
