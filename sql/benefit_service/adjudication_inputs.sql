-- name: plan_benefits_by_plan
-- Benefits of the chunk's plans; money in cents, percentages in hundredths of a percent.
-- Parameters: plan_ids (uuid[]).
SELECT pb.plan_id::text AS plan_id,
       pb.benefit_code,
       coalesce(pb.is_active, TRUE) AS is_active,
       pb.effective_date,
       pb.expiration_date,
       (pb.annual_limit * 100)::bigint AS annual_limit_cents,
       (pb.incident_limit * 100)::bigint AS incident_limit_cents,
       (pb.lifetime_limit * 100)::bigint AS lifetime_limit_cents,
       pb.day_limit,
       pb.visit_limit,
       (coalesce(pb.deductible_amount, 0) * 100)::bigint AS deductible_cents,
       (coalesce(pb.copay_amount, 0) * 100)::bigint AS copay_cents,
       (coalesce(pb.coinsurance_percentage, 0) * 100)::bigint AS coinsurance_bp,
       (coalesce(pb.in_network_coverage, 100) * 100)::bigint AS in_network_bp,
       (coalesce(pb.out_network_coverage, 80) * 100)::bigint AS out_network_bp,
       coalesce(pb.requires_preauth, FALSE) AS requires_preauth,
       coalesce(pb.waiting_period_days, 0) AS waiting_period_days,
       pb.age_limit_min,
       pb.age_limit_max
FROM benefit_service.plan_benefit AS pb
WHERE pb.plan_id = ANY(%(plan_ids)s);

-- name: exclusions_by_plan
-- Exclusions of the chunk's plans (R6). Parameters: plan_ids (uuid[]).
SELECT be.plan_id::text AS plan_id,
       be.benefit_code,
       be.diagnosis_code_prefix,
       be.procedure_code,
       be.effective_date,
       be.expiration_date
FROM benefit_service.benefit_exclusion AS be
WHERE be.plan_id = ANY(%(plan_ids)s);

-- name: cost_sharing_by_plan
-- Out-of-pocket maxima of the chunk's plans (A7), in cents. Parameters: plan_ids (uuid[]).
SELECT cs.plan_id::text AS plan_id,
       (cs.oop_max * 100)::bigint AS oop_max_cents,
       cs.effective_date,
       cs.expiration_date
FROM benefit_service.cost_sharing AS cs
WHERE cs.plan_id = ANY(%(plan_ids)s);

-- name: accumulators_by_member
-- Running totals of the chunk's members as they stand, every year (A10 needs all).
-- Parameters: member_ids (uuid[]).
SELECT a.member_id::text AS member_id,
       a.benefit_code,
       a.year,
       (a.amount_used * 100)::bigint AS amount_used_cents,
       (a.deductible_used * 100)::bigint AS deductible_used_cents,
       (a.oop_used * 100)::bigint AS oop_used_cents,
       a.visits_used,
       a.days_used
FROM benefit_service.accumulator AS a
WHERE a.member_id = ANY(%(member_ids)s);
