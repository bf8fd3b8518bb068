-- +goose Up
ALTER TABLE notes ADD COLUMN author VARCHAR(100);

-- +goose Down
ALTER TABLE notes DROP COLUMN author;
