-- claims_service 0006 down: drop the record-moving function and the archive tables of
-- decisions, overrides and readjustments (with what they hold, as a downgrade must).
DROP FUNCTION IF EXISTS claims_service.archive_claim_records(TEXT, UUID[], UUID);
DROP TABLE IF EXISTS archive.claim_readjustment;
DROP TABLE IF EXISTS archive.claim_item_override;
DROP TABLE IF EXISTS archive.claim_item_decision;
