-- Continuous feedback after a request: the keys ticketing systems call with, and each
-- decision to ask (or not) one person about one service.

-- A key is shown once, when made; only its hash is kept.
CREATE TABLE integration_keys (
    id          INTEGER PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);

-- Whether a closed request led to a feedback invitation, and why not. The request's
-- reference is never stored: nothing here or in the answers points back at a ticket.
CREATE TABLE feedback_requests (
    id              INTEGER PRIMARY KEY NOT NULL,
    integration_id  BIGINT NOT NULL REFERENCES integration_keys(id),
    service         TEXT NOT NULL,
    employee_id     BIGINT NOT NULL REFERENCES employees(id),
    asked           BOOLEAN NOT NULL,
    reason          TEXT NOT NULL,
    decided_at      TIMESTAMP NOT NULL
);
-- The cooldown: was this person asked about this service lately?
CREATE INDEX feedback_requests_cooldown ON feedback_requests (employee_id, service, decided_at);
