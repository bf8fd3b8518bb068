-- +goose Up
CREATE TABLE notes (
    id BIGINT PRIMARY KEY,
    body VARCHAR(200) NOT NULL
);

-- +goose Down
DROP TABLE notes;
