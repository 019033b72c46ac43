-- Rows waiting in the inbox become unsealed responses again, with random ids.
ALTER TABLE responses ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT 1;
CREATE INDEX responses_unsealed ON responses(id) WHERE NOT sealed;
CREATE TEMP TABLE inbox_ids AS
SELECT id AS inbox_id,
       lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
             || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
             || '-' || hex(randomblob(6))) AS response_id
FROM response_inbox;
INSERT INTO responses (id, wave_id, department_id, attributes, employee_id, sealed)
SELECT m.response_id, i.wave_id, i.department_id, i.attributes, i.employee_id, 0
FROM response_inbox i JOIN inbox_ids m ON m.inbox_id = i.id;
INSERT INTO answers (response_id, question_id, ordinal, value, text)
SELECT m.response_id, json_extract(a.value, '$[0]'), json_extract(a.value, '$[1]'),
       json_extract(a.value, '$[2]'), json_extract(a.value, '$[3]')
FROM response_inbox i JOIN inbox_ids m ON m.inbox_id = i.id, json_each(i.answers) a;
DROP TABLE inbox_ids;
DROP TABLE response_inbox;
