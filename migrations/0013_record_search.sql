-- Search by title, author and publisher (SPEC §7), one row per source record (rowid = source_records.id), so
-- every member's form of a title finds the union record. The text is tokenised by calisd before it is stored
-- (Sources/Search): folded words, and overlapping two-character tokens for Chinese, Japanese and Korean, which
-- FTS5's own tokenisers cannot split into words; unicode61 then only splits on the spaces calisd put in.
-- detail=column: no token positions. A run of ideographs is matched as all of its overlapping two-character
-- tokens, which chain it almost as tightly as a phrase; positions would only make the index larger.
CREATE VIRTUAL TABLE record_search USING fts5(
    title, author, publisher, tokenize = 'unicode61 remove_diacritics 0', detail = column);
