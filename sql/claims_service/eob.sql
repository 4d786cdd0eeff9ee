-- name: eob_claim
-- The claim of an explanation of benefits. Parameters: claim_number.
SELECT c.id, c.claim_number, c.claim_type, c.service_type, c.service_date, c.status,
       c.total_charged_amount, c.total_approved_amount, c.member_responsibility,
       c.member_id, c.provider_id, c.adjudicated_at
FROM claims_service.claim AS c
WHERE c.claim_number = %(claim_number)s;

-- name: eob_lines
-- Every line of a claim with its amounts and the CARC/group code of its reason.
-- Parameters: claim_id.
SELECT ci.line_number, ci.benefit_code, ci.procedure_code, ci.diagnosis_code, ci.quantity,
       ci.covered_days, ci.charged_amount, ci.allowed_amount, ci.deductible_amount,
       ci.copay_amount, ci.coinsurance_amount, ci.network_reduction_amount, ci.limit_amount,
       ci.approved_amount, ci.member_responsibility, ci.status, ci.reason_code,
       rc.description AS reason, rc.carc, rc.group_code, ci.in_network
FROM claims_service.claim_item AS ci
LEFT JOIN common.reason_code AS rc ON rc.code = ci.reason_code
WHERE ci.claim_id = %(claim_id)s
ORDER BY ci.line_number;

-- name: eob_adjustment_codes
-- The CARC/group code of each adjustment an EOB shows as a column. Parameters: none.
SELECT rc.code, rc.carc, rc.group_code
FROM common.reason_code AS rc
WHERE rc.code IN ('DEDUCTIBLE', 'COPAY', 'COINSURANCE', 'FEE_SCHEDULE', 'NETWORK_REDUCTION',
                  'LIMIT_REACHED');

-- name: eob_overrides
-- The reviewers' overrides of a claim's lines, with who gave them (display name and login).
-- Parameters: claim_id.
SELECT ci.line_number, o.decision, o.approved_amount, o.reason_code, o.note,
       o.overridden_by, o.overridden_login, o.overridden_at
FROM claims_service.claim_item_override AS o
JOIN claims_service.claim_item AS ci ON ci.id = o.claim_item_id
WHERE ci.claim_id = %(claim_id)s
ORDER BY ci.line_number;
