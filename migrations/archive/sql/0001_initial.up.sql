-- archive 0001: where claims older than the retention period go, with their children.
-- Same columns as the claims_service tables (no foreign keys, no defaults that would
-- invent values), plus when and by which run each row was archived.

CREATE TABLE archive.claim (LIKE claims_service.claim INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim PRIMARY KEY (id),
    CONSTRAINT uk_archive_claim_number UNIQUE (claim_number));
CREATE TABLE archive.claim_item (LIKE claims_service.claim_item INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_item PRIMARY KEY (id));
CREATE TABLE archive.claim_document (LIKE claims_service.claim_document INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_document PRIMARY KEY (id));
CREATE TABLE archive.claim_status_history (LIKE claims_service.claim_status_history INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_status_history PRIMARY KEY (id));
CREATE TABLE archive.claim_note (LIKE claims_service.claim_note INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_note PRIMARY KEY (id));
CREATE TABLE archive.claim_payment (LIKE claims_service.claim_payment INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_payment PRIMARY KEY (id));

CREATE INDEX idx_archive_claim_item_claim_id ON archive.claim_item (claim_id);
CREATE INDEX idx_archive_claim_service_date_brin ON archive.claim USING BRIN (service_date);

-- The claims service moves its own old rows here; it may add but never change them.
GRANT USAGE ON SCHEMA archive TO claims_service_user, reporting_user;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA archive TO claims_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA archive TO reporting_user;
