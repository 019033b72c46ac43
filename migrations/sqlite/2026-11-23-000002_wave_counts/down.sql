DROP TABLE wave_pair_sums;
DROP TABLE wave_value_counts;
ALTER TABLE waves DROP COLUMN counts_at;
ALTER TABLE waves DROP COLUMN counts_stale;
