-- One-time "choose your password" links sent with Jellyfin and Emby invites. The PostgreSQL twin is
-- migrations/postgres/0019_media_password_links.sql: keep them in step.
-- Only the SHA-256 hash of a link's token is stored. The password the customer chose is kept
-- sealed (XChaCha20-Poly1305 under the instance key) only until the job has written it to the
-- media server, and wiped once the job succeeds or gives up.
CREATE TABLE media_password_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    share_id INTEGER NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- open: waiting for the customer; applying: chosen, the job is writing it; set; failed;
    -- replaced: a newer link for the same share was sent, so this one no longer works.
    state TEXT NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'applying', 'set', 'failed', 'replaced')),
    used_at INTEGER,
    password_sealed TEXT,
    finished_at INTEGER,
    -- The media server's refusal of the last attempt, shown on the link's page.
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX media_password_links_share ON media_password_links (share_id, state);
CREATE INDEX media_password_links_customer ON media_password_links (customer_id, created_at);
-- The address customers use for a Jellyfin or Emby server, named in invites, when it is not the
-- one boxoffice reaches it at (a LAN or container address); empty means the same.
ALTER TABLE servers ADD COLUMN public_url TEXT NOT NULL DEFAULT '';
