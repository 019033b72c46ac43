ALTER TABLE users DROP COLUMN previous_visit_at;
ALTER TABLE users DROP COLUMN visit_at;
