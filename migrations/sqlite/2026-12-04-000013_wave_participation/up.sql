-- A closed wave's invited and answered counts per department. Closing writes them from
-- the invitations' answered marks and erases the marks in the same transaction
-- (src/responses/generalise.rs): a mark says who answered, which the response rates of
-- a closed wave no longer need. An imported wave (no invitations) counts its responses,
-- with invited 0.
CREATE TABLE wave_participation (
    wave_id       BIGINT NOT NULL REFERENCES waves(id),
    department_id BIGINT NOT NULL REFERENCES departments(id),
    invited       BIGINT NOT NULL,
    answered      BIGINT NOT NULL,
    PRIMARY KEY (wave_id, department_id)
);
