-- Holdings (SPEC §6): which library holds what, with provenance. A holding belongs to the member that holds it
-- (`holder`) and hangs on a member's bibliographic record by its local id (`bib_member`, `bib_local_id`), so a
-- holdings record (MFHD) that arrives before its bib waits for it, and a holding follows its bib from one union
-- record to another. `source_kind`/`source_local_id`/`seq` name where it was read: the bib's own 852/866-868 or
-- 905 (`bib`), or a holdings record (`mfhd`); a later file carrying the same source replaces its holdings.
CREATE TABLE holdings (
    id               INTEGER PRIMARY KEY,
    holder           TEXT NOT NULL REFERENCES members(code),
    bib_member       TEXT NOT NULL REFERENCES members(code),
    bib_local_id     TEXT NOT NULL,
    source_kind      TEXT NOT NULL CHECK (source_kind IN ('bib', 'mfhd')),
    source_local_id  TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    location         TEXT,
    call_number      TEXT,
    items            INTEGER,
    summary          TEXT,
    file_id          INTEGER REFERENCES files(id),
    received_at      INTEGER NOT NULL,
    UNIQUE (bib_member, source_kind, source_local_id, seq)
) STRICT;
CREATE INDEX holdings_by_bib ON holdings(bib_member, bib_local_id);
CREATE INDEX holdings_by_holder ON holdings(holder, id);

-- A centre allowed to submit holdings for other members (CALIS's provincial centres): their codes, comma-separated.
ALTER TABLE members ADD COLUMN may_submit_for TEXT NOT NULL DEFAULT '';
-- The institution codes a member's holdings fields name it by (852 $a, 905 $a: a MARC organisation code, a
-- CALIS code), comma-separated, besides its member code.
ALTER TABLE members ADD COLUMN institution_codes TEXT NOT NULL DEFAULT '';
