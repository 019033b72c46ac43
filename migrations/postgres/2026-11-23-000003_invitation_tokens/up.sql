-- Every link sent for an invitation: the invitation's own and one per reminder, so an
-- earlier email's link keeps working. Only hashes are stored; the plaintext token lives
-- in the email alone.
CREATE TABLE invitation_tokens (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    invitation_id BIGINT NOT NULL REFERENCES invitations(id),
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX invitation_tokens_invitation ON invitation_tokens(invitation_id);
