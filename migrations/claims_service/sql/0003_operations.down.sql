-- claims_service 0003 down: drop what the upgrade created. Dropping
-- archive.claim_partitioned drops the archived months attached to it, as a downgrade of the
-- archive must.
DROP INDEX IF EXISTS archive.idx_archive_claim_archive_run_id;
DROP INDEX IF EXISTS archive.idx_archive_claim_payment_claim_id;
DROP INDEX IF EXISTS archive.idx_archive_claim_note_claim_id;
DROP INDEX IF EXISTS archive.idx_archive_claim_status_history_claim_id;
DROP INDEX IF EXISTS archive.idx_archive_claim_document_claim_id;
DROP TABLE IF EXISTS archive.archive_run_log;
DROP TABLE IF EXISTS archive.claim_partitioned;
