-- A job that made progress during a run (a long handler finished a unit of work: an import's
-- row, a migration's customer) is not charged an attempt when its lease is reclaimed after a
-- crash or a deploy; the claim resets the mark for the next run.
ALTER TABLE jobs ADD COLUMN progressed BOOLEAN NOT NULL DEFAULT FALSE;

-- Why an import stopped (its job was given up), shown on its page and in the API until it is
-- retried. Empty while it runs.
ALTER TABLE bulk_invites ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';
