-- Registration asks for the Discord username beside the numeric Discord ID when the owner
-- requires Discord details (product §8.5).
ALTER TABLE customers ADD COLUMN discord_username TEXT NOT NULL DEFAULT '';
