-- +goose Up
CREATE UNIQUE INDEX users_email_canonical ON users (email_key);

-- +goose Down
DROP INDEX users_email_canonical ON users;
