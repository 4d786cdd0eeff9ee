-- benefit_service 0002: the accumulator posting ledger.
-- One row per (claim line, adjudication version, post|reverse). Its key makes posting
-- exactly once: a replay after a crash inserts nothing and so adds nothing. Append-only.

CREATE TABLE benefit_service.accumulator_posting (
    claim_item_id        UUID NOT NULL,
    adjudication_version INTEGER NOT NULL,
    entry_type           VARCHAR(10) NOT NULL,
    member_id            UUID NOT NULL,
    benefit_code         VARCHAR(50) NOT NULL,
    year                 INTEGER NOT NULL,
    amount               DECIMAL(15,2) NOT NULL,
    deductible           DECIMAL(15,2) NOT NULL,
    oop                  DECIMAL(15,2) NOT NULL,
    visits               INTEGER NOT NULL,
    days                 INTEGER NOT NULL,
    flow_run_id          UUID,
    posted_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT pk_accumulator_posting PRIMARY KEY (claim_item_id, adjudication_version, entry_type),
    CONSTRAINT chk_accumulator_posting_entry_type CHECK (entry_type IN ('post', 'reverse')),
    CONSTRAINT chk_accumulator_posting_sign CHECK (
        (entry_type = 'post' AND amount >= 0 AND deductible >= 0 AND oop >= 0 AND visits >= 0 AND days >= 0)
        OR (entry_type = 'reverse' AND amount <= 0 AND deductible <= 0 AND oop <= 0 AND visits <= 0 AND days <= 0)
    )
);

CREATE INDEX idx_accumulator_posting_member ON benefit_service.accumulator_posting
    (member_id, benefit_code, year);

GRANT SELECT, INSERT ON benefit_service.accumulator_posting TO benefit_service_user;
GRANT SELECT ON benefit_service.accumulator_posting TO reporting_user;
