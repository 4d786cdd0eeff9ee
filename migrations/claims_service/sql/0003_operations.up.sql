-- claims_service 0003: what the operations flows need in the archive (owned by the claims
-- service).
--
-- archive.claim_partitioned receives whole monthly partitions of
-- claims_service.claim_partitioned (detached and moved, no row churn), so archived months
-- stay queryable as one table. archive.archive_run_log is the archiving flow's ledger:
-- per batch and table, the rows and checksum read before the move and found after it.
-- Both are insert-only for the claims service, like the rest of the archive.

CREATE TABLE archive.claim_partitioned (
    LIKE claims_service.claim_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    CONSTRAINT pk_archive_claim_partitioned PRIMARY KEY (id, service_date)
) PARTITION BY RANGE (service_date);

CREATE TABLE archive.archive_run_log (
    run_id            UUID NOT NULL,
    batch_number      INTEGER NOT NULL,
    table_name        VARCHAR(63) NOT NULL,
    method            VARCHAR(10) NOT NULL,
    outcome           VARCHAR(10) NOT NULL,
    cutoff            DATE NOT NULL,
    source_rows       BIGINT NOT NULL,
    source_checksum   TEXT NOT NULL,
    archived_rows     BIGINT NOT NULL,
    archived_checksum TEXT NOT NULL,
    detail            TEXT,
    logged_at         TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT pk_archive_run_log PRIMARY KEY (run_id, batch_number, table_name),
    CONSTRAINT chk_archive_run_log_method CHECK (method IN ('rows', 'partition')),
    CONSTRAINT chk_archive_run_log_outcome CHECK (outcome IN ('moved', 'failed')),
    CONSTRAINT chk_archive_run_log_moved_matches CHECK (outcome <> 'moved' OR
        (source_rows = archived_rows AND source_checksum = archived_checksum))
);

-- Verification reads archived children by claim.
CREATE INDEX idx_archive_claim_document_claim_id ON archive.claim_document (claim_id);
CREATE INDEX idx_archive_claim_status_history_claim_id ON archive.claim_status_history (claim_id);
CREATE INDEX idx_archive_claim_note_claim_id ON archive.claim_note (claim_id);
CREATE INDEX idx_archive_claim_payment_claim_id ON archive.claim_payment (claim_id);
CREATE INDEX idx_archive_claim_archive_run_id ON archive.claim (archive_run_id);

GRANT SELECT, INSERT ON archive.claim_partitioned, archive.archive_run_log TO claims_service_user;
GRANT SELECT ON archive.claim_partitioned, archive.archive_run_log TO reporting_user;
