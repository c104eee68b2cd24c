-- A record is compared with each candidate union record's members by their match keys. Those were read from
-- every member's source record: a row of about a kilobyte somewhere in the largest table, several random reads
-- per candidate. A union record's members' keys are now also kept in one row of their own, so a candidate is
-- one read. Placement keeps the row as new records join and forgets it on any other change to the members;
-- a forgotten or missing row is rebuilt from the members the next time a new record meets the union record
-- (so an older catalogue needs no long migration). `ctl verify` checks every row against the members.
CREATE TABLE union_member_keys (
    union_id  INTEGER PRIMARY KEY REFERENCES union_records(id),
    members   TEXT NOT NULL  -- per distinct set of keys: the member ids, a space, the keys' length in bytes, a space, the keys
) STRICT;
