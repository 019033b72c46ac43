-- A response is stored with sealed = false in the same transaction that marks its
-- invitation answered; sealing rewrites recent responses (and their answers) in one
-- later transaction, in random-id order, so that neither their physical order nor a
-- transaction id the database keeps per row (PostgreSQL's xmin) can be matched with
-- the invitation rows marked at the same moment.
ALTER TABLE responses ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX responses_unsealed ON responses(sealed);
