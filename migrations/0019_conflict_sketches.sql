-- A block-key row now carries its record's conflict sketch: the inputs of the matcher's commonest conflicts
-- (material, language, ISBNs, OCLC numbers, year with extent) in one integer. Most candidates at 8 M records
-- share only a title or an author with the record placed, and were ruled out by reading their master from
-- source_records, a random page each (half the writer's waiting; see Benchmarks/README.md). A sketch that
-- conflicts rules such a candidate out from the row that found it. NULL: no sketch; the master is read as before.
ALTER TABLE block_keys ADD COLUMN conflict_sketch INTEGER;

-- The rows already there are filled once by the daemon at start: a sketch is the matcher's, which SQL does not
-- know. This row says that is still to do.
CREATE TABLE conflict_sketch_fill (
    pending INTEGER NOT NULL
) STRICT;
INSERT INTO conflict_sketch_fill (pending) SELECT 1 WHERE EXISTS (SELECT 1 FROM block_keys);
