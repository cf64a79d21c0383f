-- Expand: release 2 reads and writes full_name; release 1, still live during the deploy, keeps
-- using name. The trigger keeps both columns equal whichever release writes, and the backfill
-- fills the rows written before it.
ALTER TABLE people ADD COLUMN full_name text;

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

UPDATE people SET full_name = name WHERE full_name IS NULL;
