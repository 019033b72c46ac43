DROP INDEX responses_unsealed;
CREATE INDEX responses_unsealed ON responses(sealed);
