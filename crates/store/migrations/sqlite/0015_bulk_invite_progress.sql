-- The bulk-invite job takes the next pending row and recounts done and failed rows after each
-- one; without this index both read every row of the import, so a row cost grew with the file.
CREATE INDEX bulk_invite_rows_outcome ON bulk_invite_rows (bulk_invite_id, outcome, row_number);
