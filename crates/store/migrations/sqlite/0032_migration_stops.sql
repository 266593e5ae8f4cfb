-- A migration whose job was given up shows as stopped, with the job's last error, until the
-- administrator retries it.
ALTER TABLE migrations ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';
