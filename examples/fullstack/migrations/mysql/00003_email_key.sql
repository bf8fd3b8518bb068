-- +goose Up
-- email_key is the canonical form of the address (see canonicalEmail),
-- compared byte for byte (utf8mb4_bin) as on PostgreSQL and SQLite: the
-- default collation would ignore accents and trailing spaces by itself.
ALTER TABLE users ADD COLUMN email_key VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN email_key;
