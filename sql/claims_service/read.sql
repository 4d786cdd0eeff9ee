-- name: leased_claims
-- The claims of a run's lease, as the engine reads them.
-- Parameters: run_id.
SELECT c.id::text AS claim_id,
       c.claim_number,
       c.member_id::text AS member_id,
       c.provider_id::text AS provider_id,
       c.claim_type,
       c.service_date,
       c.submission_date,
       c.admission_date,
       c.discharge_date,
       c.status_before_lease
FROM claims_service.claim AS c
WHERE c.lease_owner = %(run_id)s
  AND c.status = 'in_review';

-- name: leased_lines
-- The lines of a run's leased claims, grouped by claim in line order (the engine's fast
-- path); amounts as integer cents (exact for DECIMAL(15,2)).
-- Parameters: run_id.
WITH leased AS (
    SELECT c.id
    FROM claims_service.claim AS c
    WHERE c.lease_owner = %(run_id)s
      AND c.status = 'in_review'
)
SELECT ci.id::text AS line_id,
       ci.claim_id::text AS claim_id,
       ci.line_number,
       ci.benefit_code,
       ci.procedure_code,
       ci.diagnosis_code,
       ci.quantity,
       (ci.charged_amount * 100)::bigint AS charged_cents
FROM claims_service.claim_item AS ci
JOIN leased ON leased.id = ci.claim_id
ORDER BY ci.claim_id, ci.line_number;

-- name: prior_lines
-- Lines of earlier batches that were not rejected, of the given members: rule R4 compares
-- new lines with them. Parameters: member_ids (uuid[]).
SELECT c.member_id::text AS member_id,
       c.provider_id::text AS provider_id,
       c.service_date,
       ci.benefit_code,
       ci.procedure_code,
       (ci.charged_amount * 100)::bigint AS charged_cents
FROM claims_service.claim AS c
JOIN claims_service.claim_item AS ci ON ci.claim_id = c.id
WHERE c.member_id = ANY(%(member_ids)s)
  AND c.status IN ('approved', 'partially_approved', 'paid')
  AND ci.status = 'approved';

-- name: leased_effective_postings
-- What the leased claims' lines have in the accumulators now (their approved version,
-- posted: no longer in posting_outbox), per (member, benefit, year) in cents: a claim
-- adjudicated again must not count against itself, so the engine sees the accumulators
-- without it (posting then reverses that version for real). Parameters: run_id.
WITH effective AS (
    SELECT c.member_id, ci.benefit_code, ci.benefit_year AS year, ci.approved_amount,
           ci.deductible_amount, ci.oop_amount, ci.visits, ci.covered_days
    FROM claims_service.claim AS c
    JOIN claims_service.claim_item AS ci ON ci.claim_id = c.id
    WHERE c.lease_owner = %(run_id)s
      AND c.status = 'in_review'
      AND ci.status = 'approved'
      AND NOT EXISTS (SELECT 1 FROM claims_service.posting_outbox AS o
                      WHERE o.claim_item_id = ci.id)
)
SELECT member_id::text AS member_id, benefit_code, year,
       (sum(approved_amount) * 100)::bigint AS amount_used_cents,
       (sum(deductible_amount) * 100)::bigint AS deductible_used_cents,
       (sum(oop_amount) * 100)::bigint AS oop_used_cents,
       sum(visits)::bigint AS visits_used,
       sum(covered_days)::bigint AS days_used
FROM effective
GROUP BY member_id, benefit_code, year;

-- name: reason_codes
-- Every reason code with its words and X12 CARC/group code (for the notes of rejections).
-- Parameters: none.
SELECT rc.code, rc.description, rc.carc, rc.group_code
FROM common.reason_code AS rc;
