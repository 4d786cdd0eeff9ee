-- name: create_decision_tables
-- Session-local staging tables for one chunk's decisions, filled with COPY and dropped at
-- commit: every write below is one set-based statement over them.
-- Parameters: none.
CREATE TEMPORARY TABLE decision_line (
    line_id                  UUID PRIMARY KEY,
    status                   VARCHAR(20) NOT NULL,
    reason_code              VARCHAR(40),
    allowed_amount           DECIMAL(15,2) NOT NULL,
    deductible_amount        DECIMAL(15,2) NOT NULL,
    copay_amount             DECIMAL(15,2) NOT NULL,
    coinsurance_amount       DECIMAL(15,2) NOT NULL,
    network_reduction_amount DECIMAL(15,2) NOT NULL,
    limit_amount             DECIMAL(15,2) NOT NULL,
    approved_amount          DECIMAL(15,2) NOT NULL,
    member_responsibility    DECIMAL(15,2) NOT NULL,
    oop_amount               DECIMAL(15,2) NOT NULL,
    covered_days             INTEGER NOT NULL,
    visits                   INTEGER NOT NULL,
    in_network               BOOLEAN,
    coverage_id              UUID,
    plan_id                  UUID,
    benefit_year             INTEGER
) ON COMMIT DROP;
CREATE TEMPORARY TABLE decision_claim (
    claim_id              UUID PRIMARY KEY,
    status                VARCHAR(30) NOT NULL,
    reason_code           VARCHAR(40),
    total_charged         DECIMAL(15,2) NOT NULL,
    total_approved        DECIMAL(15,2) NOT NULL,
    member_responsibility DECIMAL(15,2) NOT NULL,
    note                  TEXT,
    from_status           VARCHAR(30),
    previous_approved     DECIMAL(15,2),
    previous_version      INTEGER
) ON COMMIT DROP;

-- name: analyze_decision_tables
-- Statistics for the staging tables, so that the writes below join them by hash, not by
-- nested loops over estimates of one row. Parameters: none.
ANALYZE decision_line;
ANALYZE decision_claim;

-- name: lock_leased_claims
-- Locks the chunk's claims that this run still holds (a lease that expired and went to
-- another run must not be written over), notes the status each had before the lease (the
-- "from" of its status history), and counts them. Parameters: run_id.
WITH held AS (
    SELECT c.id, c.status_before_lease, c.total_approved_amount, c.adjudication_version
    FROM claims_service.claim AS c
    JOIN decision_claim AS d ON d.claim_id = c.id
    WHERE c.lease_owner = %(run_id)s
      AND c.status = 'in_review'
    FOR UPDATE OF c
),
noted AS (
    UPDATE decision_claim AS d
    SET from_status = h.status_before_lease,
        previous_approved = coalesce(h.total_approved_amount, 0),
        previous_version = h.adjudication_version
    FROM held AS h
    WHERE d.claim_id = h.id
    RETURNING 1
)
SELECT count(*) AS held
FROM noted;

-- name: apply_line_decisions
-- Writes every line's decision and amounts as a new version; the decision it replaces (of a
-- pended or re-adjudicated line) is kept in claim_item_decision first, never overwritten.
-- The new version enters the posting queue (posting_outbox, in the same statement: the
-- outbox row of an earlier version not yet posted is replaced, since posting reverses every
-- earlier version anyway); every data-modifying CTE runs to the end, and all parts see the
-- lines as they were. Parameters: flow_run_id.
WITH queued AS (
    INSERT INTO claims_service.posting_outbox AS o (claim_item_id, adjudication_version)
    SELECT ci.id, ci.adjudication_version + 1
    FROM claims_service.claim_item AS ci
    JOIN decision_line AS d ON d.line_id = ci.id
    ORDER BY ci.id
    ON CONFLICT (claim_item_id) DO UPDATE SET
        adjudication_version = EXCLUDED.adjudication_version,
        queued_at = now()
),
superseded AS (
    INSERT INTO claims_service.claim_item_decision
        (claim_item_id, adjudication_version, status, reason_code, allowed_amount,
         deductible_amount, copay_amount, coinsurance_amount, network_reduction_amount,
         limit_amount, approved_amount, member_responsibility, oop_amount, covered_days,
         visits, adjudicated_at, in_network, coverage_id, plan_id, benefit_year,
         superseded_by_run)
    SELECT ci.id, ci.adjudication_version, ci.status, ci.reason_code, ci.allowed_amount,
           ci.deductible_amount, ci.copay_amount, ci.coinsurance_amount,
           ci.network_reduction_amount, ci.limit_amount, ci.approved_amount,
           ci.member_responsibility, ci.oop_amount, ci.covered_days, ci.visits,
           ci.adjudicated_at, ci.in_network, ci.coverage_id, ci.plan_id, ci.benefit_year,
           %(flow_run_id)s
    FROM claims_service.claim_item AS ci
    JOIN decision_line AS d ON d.line_id = ci.id
    WHERE ci.adjudication_version > 0
    ON CONFLICT ON CONSTRAINT pk_claim_item_decision DO NOTHING
)
UPDATE claims_service.claim_item AS ci
SET status = d.status,
    reason_code = d.reason_code,
    allowed_amount = d.allowed_amount,
    deductible_amount = d.deductible_amount,
    copay_amount = d.copay_amount,
    coinsurance_amount = d.coinsurance_amount,
    network_reduction_amount = d.network_reduction_amount,
    limit_amount = d.limit_amount,
    approved_amount = d.approved_amount,
    member_responsibility = d.member_responsibility,
    oop_amount = d.oop_amount,
    covered_days = d.covered_days,
    visits = d.visits,
    in_network = d.in_network,
    coverage_id = d.coverage_id,
    plan_id = d.plan_id,
    benefit_year = d.benefit_year,
    adjudicated_at = now(),
    adjudication_version = ci.adjudication_version + 1
FROM decision_line AS d
WHERE ci.id = d.line_id;

-- name: apply_claim_decisions
-- Writes each claim's totals and status, ends the lease, and records the change of status
-- (from the status before the lease, noted by lock_leased_claims) with the flow run. A
-- negative total of a malformed claim is not stored (its lines are rejected; the table
-- forbids negative totals). Parameters: run_id, flow_run_id, changed_by.
WITH updated AS (
    UPDATE claims_service.claim AS c
    SET status = d.status,
        total_charged_amount = greatest(d.total_charged, 0),
        total_approved_amount = d.total_approved,
        member_responsibility = d.member_responsibility,
        status_before_lease = NULL,
        lease_owner = NULL,
        lease_expires_at = NULL,
        adjudicated_at = now(),
        adjudication_run_id = %(flow_run_id)s,
        adjudication_version = c.adjudication_version + 1,
        updated_by = %(changed_by)s
    FROM decision_claim AS d
    WHERE c.id = d.claim_id
      AND c.lease_owner = %(run_id)s
    RETURNING c.id, c.status
),
history AS (
    INSERT INTO claims_service.claim_status_history
        (claim_id, from_status, to_status, reason_code, reason, changed_by, flow_run_id)
    SELECT u.id, d.from_status, u.status, d.reason_code,
           CASE WHEN d.note IS NOT NULL THEN left(d.note, 500) END,
           %(changed_by)s, %(flow_run_id)s
    FROM updated AS u
    JOIN decision_claim AS d ON d.claim_id = u.id
    WHERE d.from_status IS DISTINCT FROM u.status
    RETURNING 1
)
SELECT (SELECT count(*) FROM updated) AS claims,
       (SELECT count(*) FROM history) AS history_rows;

-- name: insert_decision_notes
-- A note in words for every claim with a rejected line. Parameters: changed_by.
INSERT INTO claims_service.claim_note (claim_id, note_type, note_text, created_by)
SELECT d.claim_id,
       CASE WHEN d.status = 'rejected' THEN 'rejection' ELSE 'review' END,
       d.note,
       %(changed_by)s
FROM decision_claim AS d
WHERE d.note IS NOT NULL;

-- name: insert_claim_payments
-- A pending payment for every claim approved for the first time: to the provider of a
-- cashless claim, to the member of a reimbursement. A claim approved before (a
-- re-adjudication) gets a readjustment instead. Parameters: none.
INSERT INTO claims_service.claim_payment (claim_id, payee_type, payee_id, amount, status)
SELECT c.id,
       ct.payee_type,
       CASE WHEN ct.payee_type = 'provider' THEN c.provider_id ELSE c.member_id END,
       d.total_approved,
       'pending'
FROM decision_claim AS d
JOIN claims_service.claim AS c ON c.id = d.claim_id
JOIN common.claim_type AS ct ON ct.code = c.claim_type
WHERE d.total_approved > 0
  AND d.status IN ('approved', 'partially_approved')
  AND d.from_status NOT IN ('approved', 'partially_approved');

-- name: insert_readjustments
-- For every re-adjudicated claim that had been approved: the difference between what was
-- approved and what is approved now, for payment follow-up (recovery of an overpayment, or
-- a top-up). One that changed nothing (no_change) has nothing to follow up: it is
-- recorded settled at once. Parameters: flow_run_id, reason.
INSERT INTO claims_service.claim_readjustment
    (claim_id, from_version, to_version, previous_approved, new_approved, reason, flow_run_id,
     status, settled_at, settlement)
SELECT d.claim_id, d.previous_version, d.previous_version + 1, d.previous_approved,
       d.total_approved, %(reason)s, %(flow_run_id)s,
       CASE WHEN d.total_approved = d.previous_approved THEN 'settled' ELSE 'open' END,
       CASE WHEN d.total_approved = d.previous_approved THEN now() END,
       CASE WHEN d.total_approved = d.previous_approved THEN 'no_change' END
FROM decision_claim AS d
WHERE d.from_status IN ('approved', 'partially_approved')
ON CONFLICT ON CONSTRAINT uk_claim_readjustment_version DO NOTHING;
