-- name: reconciliation_by_key
-- Per (member, benefit, year): the accumulator, the opening balance and the posting ledger's
-- net sums, in cents: the reconciliation proves accumulator = opening + ledger. Keys of the
-- given members, or of every member when member_ids is NULL.
-- Parameters: member_ids (uuid[] or NULL).
WITH ledger AS (
    SELECT p.member_id, p.benefit_code, p.year,
           sum(p.amount) AS amount, sum(p.deductible) AS deductible, sum(p.oop) AS oop,
           sum(p.visits) AS visits, sum(p.days) AS days
    FROM benefit_service.accumulator_posting AS p
    WHERE %(member_ids)s::uuid[] IS NULL OR p.member_id = ANY(%(member_ids)s::uuid[])
    GROUP BY p.member_id, p.benefit_code, p.year
),
opening AS (
    SELECT o.member_id, o.benefit_code, o.year, o.amount_used AS amount,
           o.deductible_used AS deductible, o.oop_used AS oop, o.visits_used AS visits,
           o.days_used AS days
    FROM benefit_service.accumulator_opening AS o
    WHERE %(member_ids)s::uuid[] IS NULL OR o.member_id = ANY(%(member_ids)s::uuid[])
),
accumulators AS (
    SELECT a.member_id, a.benefit_code, a.year, a.amount_used AS amount,
           a.deductible_used AS deductible, a.oop_used AS oop, a.visits_used AS visits,
           a.days_used AS days
    FROM benefit_service.accumulator AS a
    WHERE %(member_ids)s::uuid[] IS NULL OR a.member_id = ANY(%(member_ids)s::uuid[])
),
keys AS (
    SELECT member_id, benefit_code, year FROM ledger
    UNION
    SELECT member_id, benefit_code, year FROM opening
    UNION
    SELECT member_id, benefit_code, year FROM accumulators
)
SELECT k.member_id::text AS member_id, k.benefit_code, k.year,
       (coalesce(a.amount, 0) * 100)::bigint AS accumulator_amount_cents,
       (coalesce(a.deductible, 0) * 100)::bigint AS accumulator_deductible_cents,
       (coalesce(a.oop, 0) * 100)::bigint AS accumulator_oop_cents,
       coalesce(a.visits, 0)::bigint AS accumulator_visits,
       coalesce(a.days, 0)::bigint AS accumulator_days,
       (coalesce(o.amount, 0) * 100)::bigint AS opening_amount_cents,
       (coalesce(o.deductible, 0) * 100)::bigint AS opening_deductible_cents,
       (coalesce(o.oop, 0) * 100)::bigint AS opening_oop_cents,
       coalesce(o.visits, 0)::bigint AS opening_visits,
       coalesce(o.days, 0)::bigint AS opening_days,
       (coalesce(l.amount, 0) * 100)::bigint AS ledger_amount_cents,
       (coalesce(l.deductible, 0) * 100)::bigint AS ledger_deductible_cents,
       (coalesce(l.oop, 0) * 100)::bigint AS ledger_oop_cents,
       coalesce(l.visits, 0)::bigint AS ledger_visits,
       coalesce(l.days, 0)::bigint AS ledger_days
FROM keys AS k
LEFT JOIN ledger AS l USING (member_id, benefit_code, year)
LEFT JOIN opening AS o USING (member_id, benefit_code, year)
LEFT JOIN accumulators AS a USING (member_id, benefit_code, year);
