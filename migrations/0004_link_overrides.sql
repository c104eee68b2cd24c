-- People in the loop: an admin's must-link or cannot-link between two source records. It outlives
-- re-submissions (the source record's row, and its id, stay as its versions change) and rule changes, and
-- the placement of either record obeys it before any rule.
CREATE TABLE link_overrides (
    a             INTEGER NOT NULL REFERENCES source_records(id) ON DELETE CASCADE,
    b             INTEGER NOT NULL REFERENCES source_records(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('must', 'cannot')),
    created_at    INTEGER NOT NULL,
    created_by    TEXT,                       -- who asked (the admin peer's uid)
    PRIMARY KEY (a, b),
    CHECK (a < b)
) STRICT, WITHOUT ROWID;
CREATE INDEX link_overrides_by_b ON link_overrides(b);
