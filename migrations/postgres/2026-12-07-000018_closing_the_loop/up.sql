-- Closing the loop: a wave's results published to its employees, their personal links
-- to them, and the actions heads and service owners take on what they say.

-- A wave's published results: shown to employees from published_at until expires_at,
-- unless unpublished. Only a wave with a final release is published.
CREATE TABLE publications (
    wave_id        BIGINT PRIMARY KEY NOT NULL REFERENCES waves(id),
    published_at   TIMESTAMP NOT NULL,
    published_by   TEXT NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    unpublished_at TIMESTAMP
);

-- Comments of a wave's final release (the whole audience's) HR marked as shareable:
-- shown on the published page when the definition says share_comments = true.
CREATE TABLE shared_comments (
    release_id BIGINT NOT NULL REFERENCES wave_releases(id),
    ordinal    INTEGER NOT NULL,
    marked_by  TEXT NOT NULL,
    marked_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (release_id, ordinal)
);

-- An employee's link to a published wave: the hash of a new token and the department
-- whose results it shows. Nothing ties it to the employee, their survey link or answers.
CREATE TABLE result_links (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    wave_id       BIGINT NOT NULL REFERENCES waves(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX result_links_wave ON result_links(wave_id);

-- What a head or a service owner does about a survey's results.
CREATE TABLE actions (
    id            BIGSERIAL PRIMARY KEY,
    survey        TEXT NOT NULL,                 -- the survey's id (slug)
    wave_id       BIGINT REFERENCES waves(id),   -- the wave whose results it answers
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    owner_id      BIGINT NOT NULL REFERENCES users(id),
    department_id BIGINT NOT NULL REFERENCES departments(id), -- the department acting
    service       TEXT,                          -- a section's `about`, or none
    questions     TEXT NOT NULL DEFAULT '',      -- question ids, comma separated
    consumers     TEXT NOT NULL DEFAULT '',      -- consumer department ids, comma separated
    due_on        DATE,
    status        TEXT NOT NULL,                 -- planned | in-progress | done | dropped
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX actions_survey ON actions(survey);

CREATE TABLE action_updates (
    id        BIGSERIAL PRIMARY KEY,
    action_id BIGINT NOT NULL REFERENCES actions(id),
    at        TIMESTAMP NOT NULL,
    author    TEXT NOT NULL,
    status    TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX action_updates_action ON action_updates(action_id);
