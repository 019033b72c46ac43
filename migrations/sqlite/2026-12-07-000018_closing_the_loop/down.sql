DROP TABLE action_updates;
DROP TABLE actions;
DROP TABLE result_links;
DROP TABLE publications;
