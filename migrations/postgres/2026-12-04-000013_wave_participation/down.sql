-- The counts go with the table; the answered marks they replaced were erased and do not
-- come back, so closed waves then show no one as having answered.
DROP TABLE wave_participation;
