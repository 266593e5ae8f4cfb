-- Header columns of an accepted upload that boxoffice does not read (their values were ignored),
-- one per line, so the progress page and the API keep telling the owner after the upload.
ALTER TABLE bulk_invites ADD COLUMN unknown_columns TEXT NOT NULL DEFAULT '';
