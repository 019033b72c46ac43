-- Only responses waiting to be sealed are ever looked up by this index. Indexed by the
-- flag, every stored response had an entry at a random place (by id) among the sealed
-- ones: one more page written per submission that nothing read back.
DROP INDEX responses_unsealed;
CREATE INDEX responses_unsealed ON responses(id) WHERE NOT sealed;
