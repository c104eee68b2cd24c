-- Candidates are found by block key. Each source record sharing a key used to be looked up in cluster_members
-- for its union record: a row somewhere in a large table for every hit, several per record placed. The key's
-- row now names the union record itself, so a block is one range of the index. Union placement is the only
-- writer of membership and stores a record's keys once it is placed, so the two never disagree (`ctl verify`
-- checks it).
ALTER TABLE block_keys ADD COLUMN union_id INTEGER;

UPDATE block_keys SET union_id = (SELECT cm.union_id FROM cluster_members cm WHERE cm.source_id = block_keys.source_id);
