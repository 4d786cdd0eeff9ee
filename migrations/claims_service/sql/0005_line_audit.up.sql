-- claims_service 0005: the posting mark of a line (posted_at, posted_version, and the
-- updated_at it touches) is bookkeeping, recorded in the posting ledger; the audit of
-- claim_item logs content changes only, so that marking a batch of lines posted does not
-- copy every line into the audit log a second time.
CREATE OR REPLACE TRIGGER audit_update AFTER UPDATE ON claims_service.claim_item
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION audit.log_update_of_content('posted_at', 'posted_version', 'updated_at');
