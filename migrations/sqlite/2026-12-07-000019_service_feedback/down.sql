DROP TABLE feedback_requests;
DROP TABLE integration_keys;
