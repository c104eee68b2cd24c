-- Near misses for a person: a record the rules kept out of a union record by a small margin. Accepting makes
-- a must-link with the union record's master, rejecting a cannot-link; either way the pair is settled.
CREATE TABLE review_queue (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES source_records(id) ON DELETE CASCADE,
    union_id      INTEGER NOT NULL REFERENCES union_records(id),
    score         REAL NOT NULL,
    rule_version  TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'accepted', 'rejected')),
    created_at    INTEGER NOT NULL,
    decided_at    INTEGER,
    decided_by    TEXT,
    UNIQUE (source_id, union_id)
) STRICT;
CREATE INDEX review_queue_by_state ON review_queue(state, id);
