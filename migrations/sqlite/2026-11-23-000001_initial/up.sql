-- SQLite schema. Keep in step with ../postgres: same tables, columns and meaning.
-- Ids are INTEGER PRIMARY KEY (a rowid alias, read as BIGINT by diesel), except the
-- anonymous response tables, which use random text ids and WITHOUT ROWID so that
-- neither an id nor the physical row order tells when a response arrived.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    parent_id   BIGINT REFERENCES departments(id),
    head_email  TEXT,
    active      BOOLEAN NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX departments_parent ON departments(parent_id);

CREATE TABLE employees (
    id            INTEGER PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments(id),
    manager_email TEXT,
    location      TEXT,
    hire_date     DATE,
    attributes    TEXT NOT NULL DEFAULT '{}',
    active        BOOLEAN NOT NULL DEFAULT 1,
    left_at       TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX employees_department ON employees(department_id, active);

CREATE TABLE surveys (
    id                 INTEGER PRIMARY KEY NOT NULL,
    slug               TEXT NOT NULL UNIQUE,
    current_version_id BIGINT,
    created_at         TIMESTAMP NOT NULL
);

-- Every version of a definition ever loaded: a wave reports against the one it ran with.
CREATE TABLE survey_versions (
    id          INTEGER PRIMARY KEY NOT NULL,
    survey_id   BIGINT NOT NULL REFERENCES surveys(id),
    version     INTEGER NOT NULL,
    source      TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    loaded_at   TIMESTAMP NOT NULL,
    UNIQUE (survey_id, version),
    UNIQUE (survey_id, source_hash)
);

CREATE TABLE waves (
    id               INTEGER PRIMARY KEY NOT NULL,
    survey_id        BIGINT NOT NULL REFERENCES surveys(id),
    version_id       BIGINT NOT NULL REFERENCES survey_versions(id),
    label            TEXT NOT NULL,
    origin           TEXT NOT NULL,             -- schedule | manual | import
    status           TEXT NOT NULL,             -- open | closed
    opens_at         TIMESTAMP NOT NULL,
    closes_at        TIMESTAMP,
    closed_at        TIMESTAMP,
    reminders_done   INTEGER NOT NULL DEFAULT 0, -- reminders already queued (claimed by a conditional update)
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (survey_id, label)
);
CREATE INDEX waves_status ON waves(status, closes_at);

CREATE TABLE invitations (
    id             INTEGER PRIMARY KEY NOT NULL,
    wave_id        BIGINT NOT NULL REFERENCES waves(id),
    employee_id    BIGINT NOT NULL REFERENCES employees(id),
    department_id  BIGINT NOT NULL REFERENCES departments(id),
    token_hash     TEXT NOT NULL UNIQUE,
    created_at     TIMESTAMP NOT NULL,
    sent_at        TIMESTAMP,
    reminded_at    TIMESTAMP,
    reminders_sent INTEGER NOT NULL DEFAULT 0,
    responded_on   DATE,                       -- the day only, never the time
    UNIQUE (wave_id, employee_id)
);
CREATE INDEX invitations_wave ON invitations(wave_id, department_id, responded_on);

-- No employee, invitation or time here in an anonymous survey (employee_id is set only
-- for confidential ones); department and attributes are copied as they were.
CREATE TABLE responses (
    id            TEXT PRIMARY KEY NOT NULL,
    wave_id       BIGINT NOT NULL REFERENCES waves(id),
    department_id BIGINT REFERENCES departments(id),
    attributes    TEXT NOT NULL DEFAULT '{}',
    employee_id   BIGINT REFERENCES employees(id)
) WITHOUT ROWID;
CREATE INDEX responses_wave ON responses(wave_id, department_id);

-- value: the number answered, or the option's index for choice questions (one row per
-- chosen option, told apart by ordinal); text: the comment of a text question.
CREATE TABLE answers (
    response_id TEXT NOT NULL REFERENCES responses(id),
    question_id TEXT NOT NULL,
    ordinal     INTEGER NOT NULL DEFAULT 0,
    value       INTEGER,
    text        TEXT,
    PRIMARY KEY (response_id, question_id, ordinal)
) WITHOUT ROWID;
CREATE INDEX answers_question ON answers(question_id, value);

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY NOT NULL,
    dedupe_key      TEXT NOT NULL UNIQUE,       -- one message per purpose, whoever enqueues it
    kind            TEXT NOT NULL,
    wave_id         BIGINT REFERENCES waves(id),
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    message         TEXT NOT NULL,              -- emptied once sent: it may hold a token
    status          TEXT NOT NULL DEFAULT 'queued', -- queued | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until   TIMESTAMP,
    claimed_by      TEXT,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
CREATE INDEX mail_outbox_wave ON mail_outbox(wave_id, status);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,                -- admin | head
    department_id BIGINT REFERENCES departments(id),
    active        BOOLEAN NOT NULL DEFAULT 1,
    created_at    TIMESTAMP NOT NULL
);

CREATE TABLE login_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Named leases: work that one process of several must do alone (the scheduler tick).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
