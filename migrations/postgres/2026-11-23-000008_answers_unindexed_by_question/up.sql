-- Every query reaches answers through their response (the primary key). An index by
-- question put each stored answer on a random page of a large index: ten page writes a
-- submission that nothing read back.
DROP INDEX answers_question;
