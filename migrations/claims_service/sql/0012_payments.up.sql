-- claims_service 0012: payments settle claims (issue 16).
-- claim_payment: when the bank paid it (paid_at) and, for a supplementary payment, the
-- readjustment it settles (one supplementary payment per readjustment at most).
-- claim_readjustment: how and when it settled (no_change at once; an underpayment by a
-- supplementary payment; an overpayment by an offset against the payee's next payments or
-- a recovery listing, both recorded in payment_service under settlement_reference).
-- The archive's copies get the same columns: archiving refuses a table whose archive lacks one.

ALTER TABLE claims_service.claim_payment
    ADD COLUMN paid_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN readjustment_id UUID,
    ADD CONSTRAINT fk_claim_payment_readjustment FOREIGN KEY (readjustment_id)
        REFERENCES claims_service.claim_readjustment (id),
    ADD CONSTRAINT uk_claim_payment_readjustment UNIQUE (readjustment_id);

ALTER TABLE claims_service.claim_readjustment
    ADD COLUMN settled_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN settlement VARCHAR(30),
    ADD COLUMN settlement_reference VARCHAR(60),
    ADD CONSTRAINT chk_claim_readjustment_settlement CHECK (
        settlement IS NULL OR settlement IN ('no_change', 'supplementary_payment', 'offset', 'recovery')),
    -- (a readjustment settled before this revision, by hand, has no settlement recorded)
    ADD CONSTRAINT chk_claim_readjustment_settled CHECK (
        settlement IS NULL OR (status = 'settled' AND settled_at IS NOT NULL));

ALTER TABLE archive.claim_payment
    ADD COLUMN paid_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN readjustment_id UUID;

ALTER TABLE archive.claim_readjustment
    ADD COLUMN settled_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN settlement VARCHAR(30),
    ADD COLUMN settlement_reference VARCHAR(60);

-- A no_change readjustment opened before this revision has nothing to settle.
UPDATE claims_service.claim_readjustment
SET status = 'settled', settled_at = now(), settlement = 'no_change'
WHERE status = 'open' AND kind = 'no_change';

CREATE INDEX idx_claim_payment_scheduled ON claims_service.claim_payment (created_at)
    WHERE status = 'scheduled';
