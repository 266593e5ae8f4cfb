-- An Idempotency-Key reused with another request (method, path or body) is refused, not replayed:
-- each key remembers a hash of the request it was first used with.
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
