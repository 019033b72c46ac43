ALTER TABLE answers ALTER COLUMN response_id RESET (n_distinct);
