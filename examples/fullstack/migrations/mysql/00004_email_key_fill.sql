-- +goose Up
UPDATE users SET email_key = LOWER(TRIM(email));

-- +goose Down
SELECT 1;
