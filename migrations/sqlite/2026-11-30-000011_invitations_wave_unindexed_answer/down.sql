DROP INDEX invitations_wave;
CREATE INDEX invitations_wave ON invitations(wave_id, department_id, responded_on);
