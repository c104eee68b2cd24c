-- A union record's master is its best source record: the fullest encoding level, then the most complete
-- record, then the most recent. The rank is computed at ingest from leader/17 and the number of fields.
ALTER TABLE source_records ADD COLUMN quality INTEGER NOT NULL DEFAULT 0;
