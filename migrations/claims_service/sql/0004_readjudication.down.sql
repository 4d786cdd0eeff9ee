-- claims_service 0004 down: the approved-only posting queue index, then drop the
-- re-adjudication tables (their audit triggers go with them).
DROP INDEX claims_service.idx_claim_item_unposted;
CREATE INDEX idx_claim_item_unposted ON claims_service.claim_item (claim_id)
    WHERE status = 'approved' AND posted_at IS NULL;
DROP TABLE claims_service.claim_readjustment;
DROP TABLE claims_service.claim_item_override;
DROP TABLE claims_service.claim_item_decision;
