-- claims_service 0004: re-adjudication.
-- A line's earlier decisions are kept (claim_item_decision, append-only: a new version never
-- overwrites the record of the old one); a reviewer's manual decision on a line
-- (claim_item_override) survives every later adjudication; the money difference of a
-- re-adjudicated claim waits for payment follow-up (claim_readjustment).

CREATE TABLE claims_service.claim_item_decision (
    claim_item_id            UUID NOT NULL,
    adjudication_version     INTEGER NOT NULL,
    status                   VARCHAR(20) NOT NULL,
    reason_code              VARCHAR(40),
    allowed_amount           DECIMAL(15,2),
    deductible_amount        DECIMAL(15,2),
    copay_amount             DECIMAL(15,2),
    coinsurance_amount       DECIMAL(15,2),
    network_reduction_amount DECIMAL(15,2),
    limit_amount             DECIMAL(15,2),
    approved_amount          DECIMAL(15,2),
    member_responsibility    DECIMAL(15,2),
    oop_amount               DECIMAL(15,2),
    covered_days             INTEGER,
    visits                   INTEGER,
    adjudicated_at           TIMESTAMP WITH TIME ZONE,
    superseded_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    superseded_by_run        UUID,
    CONSTRAINT pk_claim_item_decision PRIMARY KEY (claim_item_id, adjudication_version),
    CONSTRAINT fk_claim_item_decision_item FOREIGN KEY (claim_item_id)
        REFERENCES claims_service.claim_item(id)
);

CREATE TABLE claims_service.claim_item_override (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    claim_item_id   UUID NOT NULL,
    decision        VARCHAR(10) NOT NULL,
    approved_amount DECIMAL(15,2),
    reason_code     VARCHAR(40),
    note            TEXT NOT NULL,
    overridden_by   VARCHAR(100) NOT NULL,
    overridden_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_claim_item_override_item FOREIGN KEY (claim_item_id)
        REFERENCES claims_service.claim_item(id),
    CONSTRAINT uk_claim_item_override_item UNIQUE (claim_item_id),
    CONSTRAINT chk_claim_item_override_decision CHECK (
        (decision = 'approve' AND approved_amount >= 0 AND reason_code IS NULL)
        OR (decision = 'reject' AND approved_amount IS NULL AND reason_code IS NOT NULL)),
    CONSTRAINT chk_claim_item_override_note CHECK (length(btrim(note)) > 0)
);

CREATE TABLE claims_service.claim_readjustment (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    claim_id            UUID NOT NULL,
    from_version        INTEGER NOT NULL,
    to_version          INTEGER NOT NULL,
    previous_approved   DECIMAL(15,2) NOT NULL,
    new_approved        DECIMAL(15,2) NOT NULL,
    difference          DECIMAL(15,2) GENERATED ALWAYS AS (new_approved - previous_approved) STORED,
    kind                VARCHAR(20) GENERATED ALWAYS AS (
        CASE WHEN new_approved > previous_approved THEN 'underpayment'
             WHEN new_approved < previous_approved THEN 'overpayment'
             ELSE 'no_change' END) STORED,
    reason              TEXT NOT NULL,
    status              VARCHAR(20) NOT NULL DEFAULT 'open',
    flow_run_id         UUID,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_claim_readjustment_claim FOREIGN KEY (claim_id)
        REFERENCES claims_service.claim(id),
    CONSTRAINT uk_claim_readjustment_version UNIQUE (claim_id, to_version),
    CONSTRAINT chk_claim_readjustment_status CHECK (status IN ('open', 'settled', 'waived'))
);

CREATE INDEX idx_claim_readjustment_open ON claims_service.claim_readjustment (created_at)
    WHERE status = 'open';

SELECT audit.enable_audit('claims_service.claim_item_override');
SELECT audit.enable_audit('claims_service.claim_readjustment');

-- The decision history is append-only for the service; overrides and readjustments change.
-- (Default privileges of the schema would add UPDATE and DELETE: taken back first.)
REVOKE ALL ON claims_service.claim_item_decision FROM claims_service_user;
GRANT SELECT, INSERT ON claims_service.claim_item_decision TO claims_service_user;
GRANT SELECT, INSERT, UPDATE ON claims_service.claim_item_override,
    claims_service.claim_readjustment TO claims_service_user;
GRANT SELECT ON claims_service.claim_item_decision, claims_service.claim_item_override,
    claims_service.claim_readjustment TO reporting_user;

-- Every decided version passes through posting once (approved: reverse the earlier version's
-- posting, post this one; otherwise only the reversal), so the queue is every decided line
-- not yet posted, whatever its status.
DROP INDEX claims_service.idx_claim_item_unposted;
CREATE INDEX idx_claim_item_unposted ON claims_service.claim_item (id)
    WHERE posted_at IS NULL AND adjudicated_at IS NOT NULL;
