-- When each stream began, as the enforcement pass first saw it (Unix seconds): shown to the
-- customer choosing which of their streams to stop. Empty on readings from before.
ALTER TABLE stream_readings ADD COLUMN started_at BIGINT;
