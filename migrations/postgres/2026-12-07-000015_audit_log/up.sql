-- Who did what and when, for those who run and review the service: sign-ins, exports,
-- releases, account and roster changes, resends and reminders, purges. Never anything
-- about answers or respondents. Kept ICSAT_RETAIN_AUDIT_DAYS (src/retention.rs).
CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMP NOT NULL,
    actor   TEXT NOT NULL,              -- an account's address, or cli / scheduler / serve
    action  TEXT NOT NULL,              -- e.g. sign-in, export, release, user-add, purge
    subject TEXT NOT NULL DEFAULT '',   -- what it acted on, e.g. survey/wave
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
