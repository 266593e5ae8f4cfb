-- Stream, transcoding and download enforcement. The postgres twin is
-- migrations/postgres/0026_enforcement.sql: keep them in step.

-- What one enforcement pass remembers for the next (breaches being confirmed, incidents already
-- notified, when each session was first seen). One row: the pass runs once per tick across
-- instances.
CREATE TABLE enforcement_memory (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    memory TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Live sessions as each pass read them: the latest pass is "streams now"; older readings stay
-- only for servers with activity logging on, for the history and the charts.
CREATE TABLE stream_readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    read_at INTEGER NOT NULL,
    server_id INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    session_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    device TEXT NOT NULL,
    product TEXT NOT NULL,
    title TEXT NOT NULL,
    resolution TEXT NOT NULL,
    -- direct, copy or transcode: what the server does with the video.
    video_decision TEXT NOT NULL CHECK (video_decision IN ('direct', 'copy', 'transcode')),
    audio_decision TEXT NOT NULL CHECK (audio_decision IN ('direct', 'copy', 'transcode')),
    -- What the pass did about it: '' (nothing), stopped, not_stopped (the server cannot stop it).
    action TEXT NOT NULL DEFAULT '' CHECK (action IN ('', 'stopped', 'not_stopped'))
);
CREATE INDEX stream_readings_read_at ON stream_readings (read_at);
CREATE INDEX stream_readings_server_read_at ON stream_readings (server_id, read_at);
