-- When a holding was last confirmed: sent again (unchanged or not) by its member. A holding not confirmed within
-- `[holdings] stale_after_days` is shown as stale, never deleted for it. NULL: confirmed when received.
ALTER TABLE holdings ADD COLUMN confirmed_at INTEGER;
