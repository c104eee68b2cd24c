-- The OAI-PMH provider (SPEC §7) lists union records by when they last changed, across resumption tokens:
-- (updated_at, id) is both its date range and its cursor.
CREATE INDEX union_records_by_update ON union_records(updated_at, id);
