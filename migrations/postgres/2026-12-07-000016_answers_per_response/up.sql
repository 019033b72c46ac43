-- Counting a wave looks answers up by pages of 2,000 response ids. ANALYZE's sample
-- underestimates how many distinct responses `answers` holds (about 105,000 of 500,000
-- at 15 million answers), so the planner expected some 140 answers per response, and for
-- a page's first executions on a connection (custom plans) it chose a parallel scan of
-- every answer: 1 s a page instead of 40 ms. A response has one answer per question
-- (and per choice): say 20, so distinct responses are about 5% of the rows.
ALTER TABLE answers ALTER COLUMN response_id SET (n_distinct = -0.05);
ANALYZE answers;
