-- Discord integration (product §8.9): what boxoffice last did for each customer's Discord
-- member. The SQLite twin is migrations/sqlite/0014_discord.sql: keep them in step.
CREATE TABLE discord_members (
    customer_id BIGINT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    -- The Discord user id the row was written for; a changed id starts over.
    discord_id TEXT NOT NULL,
    -- JSON array of the role names the member holds through boxoffice.
    roles TEXT NOT NULL DEFAULT '[]',
    -- Set once the member was kicked after expiry, so they are kicked once; cleared on renewal.
    kicked_at BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
