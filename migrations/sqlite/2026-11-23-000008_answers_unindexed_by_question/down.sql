CREATE INDEX answers_question ON answers(question_id, value);
