-- claims_service 0007: the posting queue becomes a narrow transactional outbox.
-- A decided line version waits for posting as one row (line, version) of posting_outbox,
-- written in the same statement as the decision and deleted by posting once the ledger
-- holds it. Posting used to mark the line itself (posted_at, posted_version): an update of
-- the whole wide claim_item row through its timestamp and audit triggers, never HOT since
-- the queue's partial index named posted_at; a delete of a small outbox row costs a fraction.
-- A line is "posted" (its current version through posting) when it has no outbox row.
--
-- No foreign key to claim_item: archiving never moves a claim with a line in the outbox
-- (sql/claims_service/archive.sql), and the outbox is not moved with claims.

CREATE TABLE claims_service.posting_outbox (
    claim_item_id        UUID PRIMARY KEY,
    adjudication_version INTEGER NOT NULL,
    queued_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

COMMENT ON TABLE claims_service.posting_outbox IS
    'Decided line versions not yet through accumulator posting (the posting queue)';

-- Backfill: every decided line version not yet posted.
INSERT INTO claims_service.posting_outbox (claim_item_id, adjudication_version)
SELECT ci.id, ci.adjudication_version
FROM claims_service.claim_item AS ci
WHERE ci.posted_at IS NULL
  AND ci.adjudicated_at IS NOT NULL;

DROP INDEX claims_service.idx_claim_item_unposted;
ALTER TABLE claims_service.claim_item
    DROP COLUMN posted_at,
    DROP COLUMN posted_version;

-- The content audit of claim_item (0005): updated_at alone is bookkeeping now.
CREATE OR REPLACE TRIGGER audit_update AFTER UPDATE ON claims_service.claim_item
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION audit.log_update_of_content('updated_at');

-- archive.claim_item keeps its posted_at and posted_version (what lines archived before
-- this migration said); lines archived from now on leave them NULL.

GRANT SELECT, INSERT, UPDATE, DELETE ON claims_service.posting_outbox TO claims_service_user;
GRANT SELECT ON claims_service.posting_outbox TO reporting_user;
