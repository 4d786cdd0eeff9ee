DROP INDEX claims_service.idx_claim_payment_scheduled;
ALTER TABLE archive.claim_readjustment
    DROP COLUMN settlement_reference, DROP COLUMN settlement, DROP COLUMN settled_at;
ALTER TABLE archive.claim_payment DROP COLUMN readjustment_id, DROP COLUMN paid_at;
ALTER TABLE claims_service.claim_readjustment
    DROP CONSTRAINT chk_claim_readjustment_settled,
    DROP CONSTRAINT chk_claim_readjustment_settlement,
    DROP COLUMN settlement_reference, DROP COLUMN settlement, DROP COLUMN settled_at;
ALTER TABLE claims_service.claim_payment
    DROP CONSTRAINT uk_claim_payment_readjustment,
    DROP CONSTRAINT fk_claim_payment_readjustment,
    DROP COLUMN readjustment_id, DROP COLUMN paid_at;
