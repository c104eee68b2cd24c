-- Member identity (SPEC §7): a member is a bearer token. Only the SHA-256 of a token is kept; the token itself is
-- shown once, when it is made. A revoked token stays listed, and stops working at once.
CREATE TABLE member_tokens (
    id          INTEGER PRIMARY KEY,
    member      TEXT NOT NULL REFERENCES members(code),
    hash        BLOB NOT NULL UNIQUE,
    label       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX member_tokens_by_member ON member_tokens(member);
