-- name: pitr_fingerprint
-- Point-in-time recovery drill: the claims' count and the sums of their amounts, read on the
-- live database at a restore point and on the recovered copy, which must agree. No
-- parameters.
WITH claims AS (
    SELECT count(*) AS claims,
           coalesce(sum(c.total_charged_amount), 0) AS claims_charged,
           coalesce(sum(c.total_approved_amount), 0) AS claims_approved,
           coalesce(sum(c.total_paid_amount), 0) AS claims_paid
    FROM claims_service.claim AS c
)
SELECT claims, claims_charged, claims_approved, claims_paid
FROM claims
