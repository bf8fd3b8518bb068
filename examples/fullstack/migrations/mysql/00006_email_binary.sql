-- +goose Up
-- The address as shown keeps its accents: compare it byte for byte, as
-- email_key is, so the default accent-insensitive collation cannot make
-- "jose@" and "josé@" one account through the UNIQUE index on email.
ALTER TABLE users MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL;

-- +goose Down
ALTER TABLE users MODIFY email VARCHAR(254) NOT NULL;
