-- An import's done and failed counts follow its rows' outcomes: each change of a row's outcome
-- moves the counts by one in the same statement, so the job writes a row's outcome in one
-- statement instead of recounting the import's rows after each one (a cost that grew with the
-- file), and a row written twice cannot skew them (the second write changes no outcome).
CREATE FUNCTION bulk_invite_rows_counts() RETURNS trigger AS $$
BEGIN
    UPDATE bulk_invites SET
        done_rows = done_rows + (CASE WHEN NEW.outcome = 'done' THEN 1 ELSE 0 END)
                              - (CASE WHEN OLD.outcome = 'done' THEN 1 ELSE 0 END),
        failed_rows = failed_rows + (CASE WHEN NEW.outcome = 'failed' THEN 1 ELSE 0 END)
                                  - (CASE WHEN OLD.outcome = 'failed' THEN 1 ELSE 0 END)
    WHERE id = NEW.bulk_invite_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER bulk_invite_rows_counts AFTER UPDATE OF outcome ON bulk_invite_rows
FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome)
EXECUTE FUNCTION bulk_invite_rows_counts();
