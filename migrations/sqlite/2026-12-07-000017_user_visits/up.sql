-- When an account's current visit began and when its previous one did: the dashboard
-- lists what was released since the previous visit, the same list for the whole visit.
ALTER TABLE users ADD COLUMN visit_at TIMESTAMP;
ALTER TABLE users ADD COLUMN previous_visit_at TIMESTAMP;
