-- name: trail_postings
-- The posting ledger's entries of the given lines (post, and reverse when a line was decided
-- again), with the flow run that wrote each. Parameters: %(line_ids)s.
SELECT p.claim_item_id::text AS claim_item_id, p.adjudication_version, p.entry_type,
       p.benefit_code, p.year, p.amount, p.deductible, p.oop, p.visits, p.days,
       p.flow_run_id::text AS flow_run_id, p.posted_at AS at
FROM benefit_service.accumulator_posting AS p
WHERE p.claim_item_id = ANY(%(line_ids)s::uuid[])
ORDER BY p.posted_at, p.adjudication_version, p.entry_type DESC
