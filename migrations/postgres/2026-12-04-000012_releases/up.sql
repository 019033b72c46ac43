-- Releases: frozen snapshots of what a wave shows. Views read the latest release of a
-- wave and never count; the per-department counts stored until now (which showed groups
-- of any size to a reader of the database) are dropped: releases hold only shown groups.
CREATE TABLE wave_releases (
    id        BIGSERIAL PRIMARY KEY,
    wave_id   BIGINT NOT NULL REFERENCES waves(id),
    seq       INTEGER NOT NULL,
    made_at   TIMESTAMP NOT NULL,
    is_final  BOOLEAN NOT NULL,
    content   TEXT NOT NULL,           -- the decisions and the shown groups' counts (JSON)
    UNIQUE (wave_id, seq)
);

-- The comments a release shows, per group (group_id 0: the whole audience), in an order
-- unrelated to when they were written; department_id only where it may be shown.
CREATE TABLE release_comments (
    release_id    BIGINT NOT NULL REFERENCES wave_releases(id),
    group_id      BIGINT NOT NULL,
    ordinal       INTEGER NOT NULL,
    question_id   TEXT NOT NULL,
    text          TEXT NOT NULL,
    department_id BIGINT,
    PRIMARY KEY (release_id, group_id, ordinal)
);

-- Filtered views shown of a closed wave, each with the respondents it covered (a set of
-- atoms of the wave's final release), so a later view can be checked against them.
CREATE TABLE wave_views (
    id          BIGSERIAL PRIMARY KEY,
    wave_id     BIGINT NOT NULL REFERENCES waves(id),
    release_id  BIGINT NOT NULL REFERENCES wave_releases(id),
    description TEXT NOT NULL,
    atoms       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX wave_views_wave ON wave_views(wave_id);

-- A closed wave's counts per class of its generalised responses (department and
-- report dimensions, each class of at least min_group_size): what filtered views are
-- made of, so that no request counts answers.
CREATE TABLE wave_cubes (
    wave_id BIGINT PRIMARY KEY REFERENCES waves(id),
    content TEXT NOT NULL
);

DROP TABLE wave_pair_sums;
DROP TABLE wave_value_counts;
