-- What the ingest pipeline needs beyond the first schema: which file last carried a record (for full
-- snapshots), each file's problems kept with the batch that found them (so a resumed file reports each once),
-- and why a file is held, rejected or failed.

-- The last file that carried this record, changed or not: a full snapshot withdraws the member's records
-- it did not carry.
ALTER TABLE source_records ADD COLUMN confirmed_file INTEGER REFERENCES files(id);
CREATE INDEX source_records_by_member ON source_records(member, status);

-- Why a file is held, rejected or failed, in words an admin acts on; and where a held file waits.
ALTER TABLE files ADD COLUMN reason TEXT;
ALTER TABLE files ADD COLUMN held_path TEXT;
ALTER TABLE files ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
-- An admin approved a held full snapshot: it withdraws even above the guard.
ALTER TABLE files ADD COLUMN approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1));
CREATE INDEX files_by_state ON files(state);

-- One problem found in a file: a rejected record (with its bytes, given back in reports/<file>.rejected.mrc),
-- or a warning on a stored one. Written in the same transaction as the batch it belongs to.
CREATE TABLE file_problems (
    id            INTEGER PRIMARY KEY,
    file_id       INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    record_number INTEGER NOT NULL,           -- 1-based position in the file
    local_id      TEXT,
    severity      TEXT NOT NULL CHECK (severity IN ('warning', 'error')),
    reason        TEXT NOT NULL,
    rejected      BLOB                        -- the record as received, when it was rejected
) STRICT;
CREATE INDEX file_problems_by_file ON file_problems(file_id, record_number);
