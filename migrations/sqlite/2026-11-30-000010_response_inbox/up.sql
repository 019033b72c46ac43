-- A submission no longer writes responses and answers: it writes one row here, in the
-- transaction that marks its invitation answered, and sealing moves rows from here into
-- responses and answers in an order drawn at random (`responses::inbox`). So the response
-- tables are written once, in an order unrelated to arrival, and never rewritten.
-- `id` is the arrival number: it never leaves this table, since a response gets a fresh
-- random id when it is sealed. `answers` is a JSON array of
-- [question_id, ordinal, value, text].
CREATE TABLE response_inbox (
    id            INTEGER PRIMARY KEY NOT NULL,
    wave_id       BIGINT NOT NULL REFERENCES waves(id),
    department_id BIGINT REFERENCES departments(id),
    attributes    TEXT NOT NULL DEFAULT '{}',
    employee_id   BIGINT REFERENCES employees(id),
    answers       TEXT NOT NULL
);

-- Responses stored unsealed by an earlier version wait here instead (their ids go: they
-- are given fresh ones when sealed).
INSERT INTO response_inbox (wave_id, department_id, attributes, employee_id, answers)
SELECT r.wave_id, r.department_id, r.attributes, r.employee_id,
       COALESCE((SELECT json_group_array(json_array(a.question_id, a.ordinal, a.value, a.text))
                 FROM answers a WHERE a.response_id = r.id), '[]')
FROM responses r WHERE NOT r.sealed;
DELETE FROM answers WHERE response_id IN (SELECT id FROM responses WHERE NOT sealed);
DELETE FROM responses WHERE NOT sealed;
DROP INDEX responses_unsealed;
ALTER TABLE responses DROP COLUMN sealed;
