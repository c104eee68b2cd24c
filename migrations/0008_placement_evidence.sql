-- Why each record is in its union record (SPEC §5): the decision that placed it there, kept with the
-- membership and replaced when it is placed again. `decision`: matched (it agreed with the cluster; `score`
-- and `evidence`, the per-field findings, are its comparison with `compared_with`, the master then), new (no
-- candidate matched; `evidence` says how many were compared and any near miss), must-link (an admin's
-- override). `rule_version` names the rules that decided.
ALTER TABLE cluster_members ADD COLUMN decision TEXT;
ALTER TABLE cluster_members ADD COLUMN score REAL;
ALTER TABLE cluster_members ADD COLUMN compared_with INTEGER;
ALTER TABLE cluster_members ADD COLUMN rule_version TEXT;
ALTER TABLE cluster_members ADD COLUMN evidence TEXT;
ALTER TABLE cluster_members ADD COLUMN decided_at INTEGER;
