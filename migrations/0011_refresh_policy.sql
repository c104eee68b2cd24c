-- Each member's refresh policy (SPEC §6): how often its catalogue must be refreshed and from where. `drop`: a
-- full snapshot is expected in its drop folder every `interval_seconds`; the member is overdue when none came.
-- `last_success` is the end of the last full snapshot (drop) or harvest; `next_due` when the next is expected;
-- `failures` and `last_error` the consecutive failures of a harvest.
CREATE TABLE refresh_policies (
    member            TEXT PRIMARY KEY REFERENCES members(code),
    source            TEXT NOT NULL CHECK (source IN ('drop', 'oai')),
    interval_seconds  INTEGER NOT NULL CHECK (interval_seconds > 0),
    oai_url           TEXT,
    oai_set           TEXT,
    oai_prefix        TEXT,
    last_success      INTEGER,
    next_due          INTEGER NOT NULL,
    failures          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    updated_at        INTEGER NOT NULL
) STRICT;
