-- The Emby devices each enforcement pass found, for the Devices page. The postgres twin is
-- migrations/postgres/0027_emby_devices.sql: keep them in step.
-- A pass replaces one server's rows at a time; devices it deleted are not listed.
CREATE TABLE emby_devices (
    server_id INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    app TEXT NOT NULL,
    user_name TEXT NOT NULL,
    last_used INTEGER,
    read_at INTEGER NOT NULL,
    PRIMARY KEY (server_id, device_id)
);
CREATE INDEX emby_devices_customer ON emby_devices (customer_id);
