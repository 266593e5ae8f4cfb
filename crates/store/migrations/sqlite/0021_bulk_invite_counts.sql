-- An import's done and failed counts follow its rows' outcomes: each change of a row's outcome
-- moves the counts by one in the same statement, so the job writes a row's outcome in one
-- statement instead of recounting the import's rows after each one (a cost that grew with the
-- file), and a row written twice cannot skew them (the second write changes no outcome).
CREATE TRIGGER bulk_invite_rows_counts AFTER UPDATE OF outcome ON bulk_invite_rows
WHEN OLD.outcome IS NOT NEW.outcome
BEGIN
    UPDATE bulk_invites SET
        done_rows = done_rows + (NEW.outcome = 'done') - (OLD.outcome = 'done'),
        failed_rows = failed_rows + (NEW.outcome = 'failed') - (OLD.outcome = 'failed')
    WHERE id = NEW.bulk_invite_id;
END;
