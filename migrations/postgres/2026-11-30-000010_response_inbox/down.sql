-- Rows waiting in the inbox become unsealed responses again, with random ids.
ALTER TABLE responses ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX responses_unsealed ON responses(id) WHERE NOT sealed;
CREATE TEMP TABLE inbox_ids AS
SELECT id AS inbox_id, gen_random_uuid()::text AS response_id FROM response_inbox;
INSERT INTO responses (id, wave_id, department_id, attributes, employee_id, sealed)
SELECT m.response_id, i.wave_id, i.department_id, i.attributes, i.employee_id, FALSE
FROM response_inbox i JOIN inbox_ids m ON m.inbox_id = i.id;
INSERT INTO answers (response_id, question_id, ordinal, value, text)
SELECT m.response_id, a.value->>0, (a.value->>1)::int, (a.value->>2)::int, a.value->>3
FROM response_inbox i JOIN inbox_ids m ON m.inbox_id = i.id,
     json_array_elements(i.answers::json) AS a(value);
DROP TABLE inbox_ids;
DROP TABLE response_inbox;
