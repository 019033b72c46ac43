DROP INDEX responses_unsealed;
ALTER TABLE responses DROP COLUMN sealed;
