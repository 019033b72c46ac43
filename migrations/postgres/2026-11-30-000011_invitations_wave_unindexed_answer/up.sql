-- Marking an invitation answered changed its key in this index: one entry deleted at a
-- random place among the unanswered and one inserted among the answered, two more pages
-- written per submission. Response rates read the answered mark from the rows instead.
-- With no index on responded_on, the mark can be a heap-only update when the row's page
-- has room, which the fill factor leaves on pages written from now on.
DROP INDEX invitations_wave;
CREATE INDEX invitations_wave ON invitations(wave_id, department_id);
ALTER TABLE invitations SET (fillfactor = 90);
