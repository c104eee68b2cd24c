-- The union catalogue's first schema. STRICT tables, foreign keys on (the store enables them per connection).

-- A cataloguing member library. The code names its drop folder and is the first half of every local id.
CREATE TABLE members (
    code          TEXT PRIMARY KEY CHECK (length(code) BETWEEN 1 AND 32 AND code NOT GLOB '*[^A-Za-z0-9_-]*'),
    name          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at    INTEGER NOT NULL            -- Unix seconds
) STRICT;

-- A submitted file, from its claim to its end. Progress is the number of records committed, written in the
-- same transaction as those records, so a restart resumes exactly after the last commit.
CREATE TABLE files (
    id            INTEGER PRIMARY KEY,
    member        TEXT NOT NULL REFERENCES members(code),
    name          TEXT NOT NULL,              -- as the member named it
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    mode          TEXT NOT NULL CHECK (mode IN ('incremental', 'full', 'delete-list')),
    state         TEXT NOT NULL CHECK (state IN ('queued', 'active', 'done', 'held', 'rejected', 'failed')),
    spool_path    TEXT,
    archive_path  TEXT,
    progress      INTEGER NOT NULL DEFAULT 0,
    total         INTEGER,
    read          INTEGER NOT NULL DEFAULT 0,
    added         INTEGER NOT NULL DEFAULT 0,
    changed       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0,
    deleted       INTEGER NOT NULL DEFAULT 0,
    rejected      INTEGER NOT NULL DEFAULT 0,
    report        TEXT,                       -- the JSON report, once finished
    received_at   INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;
CREATE INDEX files_by_member ON files(member, received_at);
CREATE INDEX files_by_hash ON files(member, sha256);

-- A member's record: its latest version, as received (transcoded to UTF-8 only when it was not), and why.
CREATE TABLE source_records (
    id                 INTEGER PRIMARY KEY,
    member             TEXT NOT NULL REFERENCES members(code),
    local_id           TEXT NOT NULL,         -- 001, surrounding spaces trimmed
    flavour            TEXT NOT NULL CHECK (flavour IN ('marc21', 'unimarc', 'cnmarc', 'unknown')),
    original_encoding  TEXT NOT NULL,
    record             BLOB NOT NULL,         -- ISO 2709, UTF-8
    content_hash       BLOB NOT NULL,         -- SHA-256 of `record`
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted', 'withdrawn')),
    locked             INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    file_id            INTEGER REFERENCES files(id),
    updated_at         INTEGER NOT NULL,
    UNIQUE (member, local_id)
) STRICT;

-- Normalised match keys: isbn, issn, lccn, oclc, title… One row per key, found by kind and value.
CREATE TABLE match_keys (
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    source_id     INTEGER NOT NULL REFERENCES source_records(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, source_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX match_keys_by_source ON match_keys(source_id);

-- A union record: a cluster of source records describing one manifestation. Its id (CAL + the number)
-- never changes meaning; one merged away redirects to its survivor.
CREATE TABLE union_records (
    id            INTEGER PRIMARY KEY,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'merged', 'deleted')),
    master_id     INTEGER REFERENCES source_records(id),
    redirect_to   INTEGER REFERENCES union_records(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK ((status = 'merged') = (redirect_to IS NOT NULL))
) STRICT;

-- Which union record each active source record belongs to: exactly one.
CREATE TABLE cluster_members (
    source_id     INTEGER PRIMARY KEY REFERENCES source_records(id) ON DELETE CASCADE,
    union_id      INTEGER NOT NULL REFERENCES union_records(id)
) STRICT;
CREATE INDEX cluster_members_by_union ON cluster_members(union_id);

-- Every union-record and source-record change, in order, for mirrors and the change feed.
CREATE TABLE changes (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    kind          TEXT NOT NULL,              -- record-added, record-changed, record-deleted, union-created, merged, split, redirected…
    union_id      INTEGER,
    source_id     INTEGER,
    member        TEXT,
    detail        TEXT                        -- JSON
) STRICT;
