-- The dedup engine compares many attributes of a record (title with subtitle, part, edition, year, publisher,
-- extent, author, material, language) but finds candidates by a few blocking keys (identifiers and title
-- blocks). All of a record's keys are kept with it, as one value read when the record is a candidate; only the
-- blocking keys are indexed, each as a 64-bit hash of its kind and value: a third of the size of the text, so
-- the index stays in cache as the catalogue grows (a collision only adds a candidate; the comparison decides).
ALTER TABLE source_records ADD COLUMN features TEXT;

DROP TABLE match_keys;

CREATE TABLE block_keys (
    hash          INTEGER NOT NULL,           -- FNV-1a 64 of kind, 0x1F, value
    source_id     INTEGER NOT NULL REFERENCES source_records(id) ON DELETE CASCADE,
    PRIMARY KEY (hash, source_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX block_keys_by_source ON block_keys(source_id);
