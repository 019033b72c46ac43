DROP TABLE wave_cubes;
DROP TABLE wave_views;
DROP TABLE release_comments;
DROP TABLE wave_releases;
CREATE TABLE wave_value_counts (
    wave_id       BIGINT NOT NULL REFERENCES waves(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    item          TEXT NOT NULL,
    value         INTEGER NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (wave_id, department_id, item, value)
);

-- Sums over respondents who answered both a question and the outcome (eNPS): all that
-- a Pearson correlation needs.
CREATE TABLE wave_pair_sums (
    wave_id       BIGINT NOT NULL REFERENCES waves(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    question_id   TEXT NOT NULL,
    outcome_id    TEXT NOT NULL,
    n             BIGINT NOT NULL,
    sx            BIGINT NOT NULL,
    sy            BIGINT NOT NULL,
    sxx           BIGINT NOT NULL,
    syy           BIGINT NOT NULL,
    sxy           BIGINT NOT NULL,
    PRIMARY KEY (wave_id, department_id, question_id, outcome_id)
);
