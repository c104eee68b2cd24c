-- A member's standing as a source of masters (SPEC §5): among source records of equal quality, the one from the
-- member with the higher priority is master, before the most recent. Set with `calisd ctl members set --priority`.
ALTER TABLE members ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
