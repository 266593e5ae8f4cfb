-- The Emby devices each enforcement pass found, for the Devices page. The sqlite twin is
-- migrations/sqlite/0027_emby_devices.sql: keep them in step.
-- A pass replaces one server's rows at a time; devices it deleted are not listed.
CREATE TABLE emby_devices (
    server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    customer_id BIGINT REFERENCES customers (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    app TEXT NOT NULL,
    user_name TEXT NOT NULL,
    last_used BIGINT,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (server_id, device_id)
);
CREATE INDEX emby_devices_customer ON emby_devices (customer_id);
