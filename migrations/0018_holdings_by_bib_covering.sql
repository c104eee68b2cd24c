-- A union record's answer shows every holding of each of its member records, found by the bib. The index now
-- carries every column the answer shows, so it reads no holdings row: one random page less a member record
-- (the growth benchmark's union-id lookups at 8 M records; see Benchmarks/README.md). It costs the index's
-- size, about the table's.
DROP INDEX holdings_by_bib;
CREATE INDEX holdings_by_bib ON holdings(
    bib_member, bib_local_id, holder, source_kind, source_local_id, location, call_number, items, summary, file_id,
    received_at, confirmed_at);
