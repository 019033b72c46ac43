DROP TABLE action_updates;
DROP TABLE actions;
DROP TABLE result_links;
DROP TABLE shared_comments;
DROP TABLE publications;
