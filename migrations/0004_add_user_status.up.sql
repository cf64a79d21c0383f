CREATE TYPE user_status AS ENUM ('active', 'suspended', 'deleted');

ALTER TABLE users ADD COLUMN status user_status NOT NULL DEFAULT 'active';

CREATE FUNCTION users_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Statements inside a dollar-quoted body are not split: this semicolon stays put;
    NEW.created_at := COALESCE(NEW.created_at, now());
    RETURN NEW;
END;
$$;
