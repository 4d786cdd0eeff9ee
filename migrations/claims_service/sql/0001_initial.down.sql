DROP TABLE IF EXISTS archive.claim_payment, archive.claim_note, archive.claim_status_history,
    archive.claim_document, archive.claim_item, archive.claim;
DROP VIEW IF EXISTS claims_service.v_claims_dashboard;
DROP FUNCTION IF EXISTS claims_service.create_monthly_partition(DATE);
DROP TABLE IF EXISTS claims_service.claim_partitioned CASCADE;
DROP FUNCTION IF EXISTS claims_service.generate_claim_number();
DROP TABLE IF EXISTS claims_service.claim_number_counter, claims_service.claim_payment,
    claims_service.claim_note, claims_service.claim_status_history, claims_service.claim_document,
    claims_service.claim_item, claims_service.claim;
