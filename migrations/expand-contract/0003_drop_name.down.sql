-- Back to the expanded shape of 0002: name again, filled from full_name, kept in sync.
ALTER TABLE people ALTER COLUMN full_name DROP NOT NULL;
ALTER TABLE people ADD COLUMN name text;
UPDATE people SET name = full_name;
ALTER TABLE people ALTER COLUMN name SET NOT NULL;

CREATE FUNCTION people_sync_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.full_name := coalesce(NEW.full_name, NEW.name);
        NEW.name := coalesce(NEW.name, NEW.full_name);
    ELSIF NEW.full_name IS DISTINCT FROM OLD.full_name THEN
        NEW.name := NEW.full_name;
    ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
        NEW.full_name := NEW.name;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER people_sync_names BEFORE INSERT OR UPDATE ON people
    FOR EACH ROW EXECUTE FUNCTION people_sync_names();
