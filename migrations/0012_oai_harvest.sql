-- OAI-PMH harvesting (SPEC §6). `harvest_from` is the `from` of the next incremental harvest: the responseDate of
-- the last successful one, in the provider's granularity; NULL means the next harvest takes everything.
-- `last_attempt` and `last_harvest` describe the last run, for `calisd ctl refresh status`.
ALTER TABLE refresh_policies ADD COLUMN harvest_from TEXT;
ALTER TABLE refresh_policies ADD COLUMN last_attempt INTEGER;
ALTER TABLE refresh_policies ADD COLUMN last_harvest TEXT;

-- Which of its member's records each OAI identifier is: a `status="deleted"` header names only the identifier.
CREATE TABLE oai_identifiers (
    member      TEXT NOT NULL REFERENCES members(code),
    identifier  TEXT NOT NULL,
    local_id    TEXT NOT NULL,
    datestamp   TEXT NOT NULL,
    PRIMARY KEY (member, identifier)
) STRICT, WITHOUT ROWID;
