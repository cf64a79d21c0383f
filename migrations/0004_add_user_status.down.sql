DROP FUNCTION users_touch();
ALTER TABLE users DROP COLUMN status;
DROP TYPE user_status;
