-- name: remittance_lines
-- The lines of the claims a remittance advice shows, money in integer sen: what was charged,
-- allowed and paid on each, with its status and reason. The service code is the procedure
-- code where the line has one, else its benefit code. Parameters: claim_ids (uuid[]).
WITH wanted AS (
    SELECT DISTINCT unnest(%(claim_ids)s::uuid[]) AS claim_id
)
SELECT ci.claim_id::text AS claim_id, c.claim_number, ci.line_number,
       COALESCE(ci.procedure_code, ci.benefit_code) AS service_code,
       (ci.charged_amount * 100)::bigint AS charged_cents,
       (ci.allowed_amount * 100)::bigint AS allowed_cents,
       (COALESCE(ci.approved_amount, 0) * 100)::bigint AS paid_cents,
       (COALESCE(ci.member_responsibility, 0) * 100)::bigint AS member_cents,
       ci.status, ci.reason_code
FROM wanted AS w
JOIN claims_service.claim_item AS ci ON ci.claim_id = w.claim_id
JOIN claims_service.claim AS c ON c.id = ci.claim_id
ORDER BY c.claim_number, ci.line_number;

-- name: remittance_adjustments
-- The adjustments of those lines as an explanation of benefits shows them (see
-- claims_askes/adjudication/eob.py), each with its group code and CARC, in integer sen:
-- the charge above the fee schedule of a decided line (none where a reviewer priced the
-- line), deductible, copay, coinsurance, network reduction and limits, a reviewer's
-- reduction (CARC 150/CO: the charge less plan and member share), and the whole charge of
-- a rejected line under its reason. Zero amounts are left out. Parameters: claim_ids.
WITH wanted AS (
    SELECT DISTINCT unnest(%(claim_ids)s::uuid[]) AS claim_id
),
lines AS (
    SELECT ci.*,
           EXISTS (SELECT 1 FROM claims_service.claim_item_override AS o
                   WHERE o.claim_item_id = ci.id AND o.decision = 'approve')
           AND ci.status = 'approved' AS reviewed
    FROM wanted AS w
    JOIN claims_service.claim_item AS ci ON ci.claim_id = w.claim_id
),
amounts AS (
    SELECT l.claim_id, l.line_number, a.reason_code, a.amount, a.position
    FROM lines AS l
    CROSS JOIN LATERAL (VALUES
        ('FEE_SCHEDULE', CASE WHEN NOT l.reviewed AND l.status IN ('approved', 'pended')
                              THEN l.charged_amount - l.allowed_amount END, 1),
        ('DEDUCTIBLE', l.deductible_amount, 2),
        ('COPAY', l.copay_amount, 3),
        ('COINSURANCE', l.coinsurance_amount, 4),
        ('NETWORK_REDUCTION', l.network_reduction_amount, 5),
        ('LIMIT_REACHED', l.limit_amount, 6),
        ('REVIEWER_REDUCTION', CASE WHEN l.reviewed THEN l.charged_amount - l.approved_amount
                                    - COALESCE(l.member_responsibility, 0) END, 7),
        (l.reason_code, CASE WHEN l.status = 'rejected' THEN l.charged_amount END, 8)
    ) AS a (reason_code, amount, position)
    WHERE l.status <> 'rejected' OR a.position = 8
),
coded AS (
    SELECT a.claim_id, a.line_number, a.reason_code, a.position,
           (a.amount * 100)::bigint AS amount_cents,
           CASE WHEN a.reason_code = 'REVIEWER_REDUCTION' THEN 'CO' ELSE rc.group_code END
               AS group_code,
           CASE WHEN a.reason_code = 'REVIEWER_REDUCTION' THEN '150' ELSE rc.carc END AS carc
    FROM amounts AS a
    LEFT JOIN common.reason_code AS rc ON rc.code = a.reason_code
    WHERE a.amount > 0
)
SELECT claim_id::text AS claim_id, line_number, group_code, carc, reason_code, amount_cents
FROM coded
ORDER BY claim_id, line_number, position;
