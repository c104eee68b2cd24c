-- The search index holds each word once a column (CatalogStore+Search): a column-bound search then ranks as bm25
-- does by the records' lengths, without bm25's cost for every hit of a common word. An index written before held
-- repeated words, so it is emptied here, and start-up builds it again from the active source records.
DROP TABLE record_search;
CREATE VIRTUAL TABLE record_search USING fts5(
    title, author, publisher, tokenize = 'unicode61 remove_diacritics 0', detail = column);
