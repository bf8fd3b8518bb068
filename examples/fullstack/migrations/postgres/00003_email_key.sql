-- +goose Up
-- email_key is the canonical form of the address (see canonicalEmail):
-- uniqueness and lookups use it, compared byte for byte on every database.
ALTER TABLE users ADD COLUMN email_key VARCHAR(254);
UPDATE users SET email_key = lower(btrim(email));
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
CREATE UNIQUE INDEX users_email_canonical ON users (email_key);

-- +goose Down
DROP INDEX users_email_canonical;
ALTER TABLE users DROP COLUMN email_key;
