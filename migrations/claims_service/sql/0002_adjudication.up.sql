-- claims_service 0002: what the adjudication batch needs.
-- A claim is leased by one run at a time (status in_review, a lease that expires so that a
-- crashed run's claims are taken again); a line keeps every amount of its decision, and
-- whether (and which version of) it is posted to the accumulators.

ALTER TABLE claims_service.claim
    ADD COLUMN lease_owner UUID,
    ADD COLUMN lease_expires_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN status_before_lease VARCHAR(30),
    ADD COLUMN adjudicated_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN adjudication_run_id UUID,
    ADD COLUMN adjudication_version INTEGER NOT NULL DEFAULT 0,
    ADD CONSTRAINT chk_claim_lease CHECK ((status = 'in_review') = (lease_owner IS NOT NULL));

-- The adjudication queue: small, whatever the size of the claim table.
CREATE INDEX idx_claim_adjudication_queue ON claims_service.claim (member_id)
    INCLUDE (status, lease_expires_at)
    WHERE status IN ('submitted', 'pended', 'in_review');

ALTER TABLE claims_service.claim_item
    ADD COLUMN network_reduction_amount DECIMAL(15,2),
    ADD COLUMN limit_amount DECIMAL(15,2),
    ADD COLUMN oop_amount DECIMAL(15,2),
    ADD COLUMN covered_days INTEGER,
    ADD COLUMN visits INTEGER,
    ADD COLUMN in_network BOOLEAN,
    ADD COLUMN coverage_id UUID,
    ADD COLUMN plan_id UUID,
    ADD COLUMN benefit_year INTEGER,
    ADD COLUMN adjudicated_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN adjudication_version INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN posted_version INTEGER,
    ADD COLUMN posted_at TIMESTAMP WITH TIME ZONE;

COMMENT ON COLUMN claims_service.claim_item.oop_amount IS
    'Cost share after the out-of-pocket cap (A7): what the accumulator''s oop_used receives';
COMMENT ON COLUMN claims_service.claim_item.visits IS
    '1 on the line that counts its claim''s visit for its benefit, else 0';
COMMENT ON COLUMN claims_service.claim_item.posted_at IS
    'When the approved line reached benefit_service.accumulator_posting; NULL = not yet';

-- Approved lines not yet posted: the posting queue.
CREATE INDEX idx_claim_item_unposted ON claims_service.claim_item (claim_id)
    WHERE status = 'approved' AND posted_at IS NULL;

-- archive 0002: the columns claims_service 0002 added, so archived rows keep them.
ALTER TABLE archive.claim
    ADD COLUMN lease_owner UUID,
    ADD COLUMN lease_expires_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN status_before_lease VARCHAR(30),
    ADD COLUMN adjudicated_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN adjudication_run_id UUID,
    ADD COLUMN adjudication_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE archive.claim_item
    ADD COLUMN network_reduction_amount DECIMAL(15,2),
    ADD COLUMN limit_amount DECIMAL(15,2),
    ADD COLUMN oop_amount DECIMAL(15,2),
    ADD COLUMN covered_days INTEGER,
    ADD COLUMN visits INTEGER,
    ADD COLUMN in_network BOOLEAN,
    ADD COLUMN coverage_id UUID,
    ADD COLUMN plan_id UUID,
    ADD COLUMN benefit_year INTEGER,
    ADD COLUMN adjudicated_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN adjudication_version INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN posted_version INTEGER,
    ADD COLUMN posted_at TIMESTAMP WITH TIME ZONE;
