-- name: pitr_fingerprint
-- Point-in-time recovery drill: the sums of the accumulators, read on the live database at a
-- restore point and on the recovered copy, which must agree. No parameters.
WITH accumulators AS (
    SELECT coalesce(sum(a.amount_used), 0) AS accumulators_amount_used,
           coalesce(sum(a.deductible_used), 0) AS accumulators_deductible_used,
           coalesce(sum(a.oop_used), 0) AS accumulators_oop_used,
           coalesce(sum(a.visits_used), 0) AS accumulators_visits_used
    FROM benefit_service.accumulator AS a
)
SELECT accumulators_amount_used, accumulators_deductible_used, accumulators_oop_used,
       accumulators_visits_used
FROM accumulators
