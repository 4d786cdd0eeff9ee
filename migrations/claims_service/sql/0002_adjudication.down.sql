ALTER TABLE archive.claim_item
    DROP COLUMN network_reduction_amount, DROP COLUMN limit_amount, DROP COLUMN oop_amount,
    DROP COLUMN covered_days, DROP COLUMN visits, DROP COLUMN in_network, DROP COLUMN coverage_id,
    DROP COLUMN plan_id, DROP COLUMN benefit_year, DROP COLUMN adjudicated_at,
    DROP COLUMN adjudication_version, DROP COLUMN posted_version, DROP COLUMN posted_at;
ALTER TABLE archive.claim
    DROP COLUMN lease_owner, DROP COLUMN lease_expires_at, DROP COLUMN status_before_lease,
    DROP COLUMN adjudicated_at, DROP COLUMN adjudication_run_id, DROP COLUMN adjudication_version;
DROP INDEX IF EXISTS claims_service.idx_claim_item_unposted;
ALTER TABLE claims_service.claim_item
    DROP COLUMN network_reduction_amount, DROP COLUMN limit_amount, DROP COLUMN oop_amount,
    DROP COLUMN covered_days, DROP COLUMN visits, DROP COLUMN in_network, DROP COLUMN coverage_id,
    DROP COLUMN plan_id, DROP COLUMN benefit_year, DROP COLUMN adjudicated_at,
    DROP COLUMN adjudication_version, DROP COLUMN posted_version, DROP COLUMN posted_at;
DROP INDEX IF EXISTS claims_service.idx_claim_adjudication_queue;
ALTER TABLE claims_service.claim
    DROP CONSTRAINT chk_claim_lease, DROP COLUMN lease_owner, DROP COLUMN lease_expires_at,
    DROP COLUMN status_before_lease, DROP COLUMN adjudicated_at, DROP COLUMN adjudication_run_id,
    DROP COLUMN adjudication_version;
