-- claims_service 0007 down: the posting mark on claim_item again, from the outbox: a
-- decided line without an outbox row was posted (its current version).
ALTER TABLE claims_service.claim_item
    ADD COLUMN posted_version INTEGER,
    ADD COLUMN posted_at TIMESTAMP WITH TIME ZONE;

COMMENT ON COLUMN claims_service.claim_item.posted_at IS
    'When the approved line reached benefit_service.accumulator_posting; NULL = not yet';

-- The mark is bookkeeping again (0005), so restoring it is not audited.
CREATE OR REPLACE TRIGGER audit_update AFTER UPDATE ON claims_service.claim_item
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION audit.log_update_of_content('posted_at', 'posted_version', 'updated_at');

UPDATE claims_service.claim_item AS ci
SET posted_at = now(),
    posted_version = ci.adjudication_version
WHERE ci.adjudicated_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM claims_service.posting_outbox AS o
                  WHERE o.claim_item_id = ci.id);

CREATE INDEX idx_claim_item_unposted ON claims_service.claim_item (id)
    WHERE posted_at IS NULL AND adjudicated_at IS NOT NULL;

DROP TABLE claims_service.posting_outbox;
