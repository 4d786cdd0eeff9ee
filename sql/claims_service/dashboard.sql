-- name: dashboard_daily
-- The claims of the window (claims submitted in the last window_days days), one row per day
-- of submission, oldest first: counts by status, amounts and the average hours from
-- submission to decision. Days are those of the session's time zone (the report sets
-- Jakarta's). v_claims_dashboard has a fixed 30-day window; this is its configurable twin.
-- Parameters: window_days.
WITH windowed AS (
    SELECT c.*
    FROM claims_service.claim AS c
    WHERE c.submission_date >= CURRENT_DATE - make_interval(days => %(window_days)s)
)
SELECT date_trunc('day', w.submission_date)::date AS day,
       count(*) AS total_claims,
       count(*) FILTER (WHERE w.status IN ('submitted', 'in_review')) AS pending_claims,
       count(*) FILTER (WHERE w.status = 'pended') AS pended_claims,
       count(*) FILTER (WHERE w.status = 'approved') AS approved_claims,
       count(*) FILTER (WHERE w.status = 'partially_approved') AS partially_approved_claims,
       count(*) FILTER (WHERE w.status = 'rejected') AS rejected_claims,
       coalesce(sum(w.total_charged_amount), 0) AS total_charged,
       coalesce(sum(w.total_approved_amount), 0) AS total_approved,
       (avg(extract(EPOCH FROM (coalesce(w.adjudicated_at, w.updated_at) - w.submission_date))
            / 3600)
            FILTER (WHERE w.status IN ('approved', 'partially_approved', 'rejected', 'paid'))
       )::numeric(10, 2) AS avg_processing_hours
FROM windowed AS w
GROUP BY 1
ORDER BY 1;

-- name: dashboard_rejection_reasons
-- Rejected lines of the window (claims submitted in the last window_days days) by reason,
-- with the reason's words and its X12 CARC/group code; most frequent first.
-- Parameters: window_days, limit.
SELECT ci.reason_code,
       coalesce(r.description, ci.reason_code) AS description,
       coalesce(r.carc, '') AS carc,
       coalesce(r.group_code, '') AS group_code,
       count(*) AS lines,
       count(DISTINCT ci.claim_id) AS claims,
       sum(ci.charged_amount) AS charged
FROM claims_service.claim_item AS ci
JOIN claims_service.claim AS c ON c.id = ci.claim_id
LEFT JOIN common.reason_code AS r ON r.code = ci.reason_code
WHERE ci.status = 'rejected'
  AND ci.reason_code IS NOT NULL
  AND c.submission_date >= CURRENT_DATE - make_interval(days => %(window_days)s)
GROUP BY ci.reason_code, r.description, r.carc, r.group_code
ORDER BY lines DESC, ci.reason_code
LIMIT %(limit)s;

-- name: dashboard_backlog
-- The open claims (submitted, in review, pended) by status and age band: the age is the
-- time since submission, band k is the k-th gap of `bounds` (days, increasing; band 0 is
-- below the first bound, band len(bounds) at or above the last).
-- Parameters: bounds (int[] of days).
WITH open_claims AS (
    SELECT c.status,
           extract(EPOCH FROM (now() - c.submission_date)) / 86400 AS age_days,
           c.total_charged_amount
    FROM claims_service.claim AS c
    WHERE c.status IN ('submitted', 'in_review', 'pended')
)
SELECT o.status,
       width_bucket(o.age_days, %(bounds)s::numeric[]) AS band,
       count(*) AS claims,
       coalesce(sum(o.total_charged_amount), 0) AS charged
FROM open_claims AS o
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: dashboard_pended
-- Pended claims, longest waiting first, with the reason they wait (the latest change to
-- `pended` in the status history) and since when; `total` counts them all.
-- Parameters: limit.
WITH pended AS (
    SELECT c.id, c.claim_number, c.provider_id, c.total_charged_amount, c.submission_date,
           c.adjudicated_at
    FROM claims_service.claim AS c
    WHERE c.status = 'pended'
),
why AS (
    SELECT DISTINCT ON (h.claim_id) h.claim_id, h.reason_code, h.reason, h.changed_at
    FROM claims_service.claim_status_history AS h
    JOIN pended AS p ON p.id = h.claim_id
    WHERE h.to_status = 'pended'
    ORDER BY h.claim_id, h.changed_at DESC, h.id DESC
)
SELECT p.claim_number,
       p.provider_id,
       coalesce(p.total_charged_amount, 0) AS charged,
       p.submission_date,
       coalesce(w.changed_at, p.adjudicated_at, p.submission_date) AS pended_since,
       coalesce(w.reason_code, '') AS reason_code,
       coalesce(r.description, w.reason, '') AS reason,
       count(*) OVER () AS total
FROM pended AS p
LEFT JOIN why AS w ON w.claim_id = p.id
LEFT JOIN common.reason_code AS r ON r.code = w.reason_code
ORDER BY pended_since, p.claim_number
LIMIT %(limit)s;

-- name: dashboard_decisions
-- Decision time (submission to decision, hours) of the claims decided in the last
-- window_days days, one row per day of decision (session time zone), oldest first: how
-- many, how many within sla_hours, the median and the 90th percentile.
-- Parameters: window_days, sla_hours.
WITH decided AS (
    SELECT date_trunc('day', c.adjudicated_at)::date AS day,
           extract(EPOCH FROM (c.adjudicated_at - c.submission_date)) / 3600 AS hours
    FROM claims_service.claim AS c
    WHERE c.status IN ('approved', 'partially_approved', 'rejected', 'paid')
      AND c.adjudicated_at >= CURRENT_DATE - make_interval(days => %(window_days)s)
)
SELECT d.day,
       count(*) AS decided,
       count(*) FILTER (WHERE d.hours <= %(sla_hours)s) AS within_sla,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY d.hours)::numeric(12, 2) AS p50_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY d.hours)::numeric(12, 2) AS p90_hours
FROM decided AS d
GROUP BY d.day
ORDER BY d.day;

-- name: dashboard_decision_summary
-- The same decisions as dashboard_decisions over the whole window: count, within SLA,
-- median and 90th percentile hours, and the count per band of `bounds` (hours).
-- Parameters: window_days, sla_hours, bounds (numeric[] of hours).
WITH decided AS (
    SELECT extract(EPOCH FROM (c.adjudicated_at - c.submission_date)) / 3600 AS hours
    FROM claims_service.claim AS c
    WHERE c.status IN ('approved', 'partially_approved', 'rejected', 'paid')
      AND c.adjudicated_at >= CURRENT_DATE - make_interval(days => %(window_days)s)
),
bands AS (
    SELECT width_bucket(d.hours, %(bounds)s::numeric[]) AS band, count(*) AS claims
    FROM decided AS d
    GROUP BY 1
)
SELECT (SELECT count(*) FROM decided) AS decided,
       (SELECT count(*) FROM decided WHERE hours <= %(sla_hours)s) AS within_sla,
       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY hours) FROM decided)::numeric(12, 2)
           AS p50_hours,
       (SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY hours) FROM decided)::numeric(12, 2)
           AS p90_hours,
       coalesce((SELECT jsonb_object_agg(band, claims) FROM bands), '{}'::jsonb) AS bands;

-- name: dashboard_provider_rejections
-- The providers with the most rejected lines on claims submitted in the last window_days
-- days (top `limit`), one row per provider and reason, the provider's total repeated.
-- Parameters: window_days, limit.
WITH rejected AS (
    SELECT c.provider_id, ci.claim_id, ci.reason_code, ci.charged_amount
    FROM claims_service.claim_item AS ci
    JOIN claims_service.claim AS c ON c.id = ci.claim_id
    WHERE ci.status = 'rejected'
      AND c.submission_date >= CURRENT_DATE - make_interval(days => %(window_days)s)
),
top_providers AS (
    SELECT r.provider_id, count(*) AS provider_lines,
           count(DISTINCT r.claim_id) AS provider_claims
    FROM rejected AS r
    GROUP BY r.provider_id
    ORDER BY provider_lines DESC, r.provider_id
    LIMIT %(limit)s
)
SELECT t.provider_id,
       t.provider_lines,
       t.provider_claims,
       coalesce(r.reason_code, 'UNKNOWN') AS reason_code,
       count(*) AS lines,
       sum(r.charged_amount) AS charged
FROM top_providers AS t
JOIN rejected AS r ON r.provider_id = t.provider_id
GROUP BY t.provider_id, t.provider_lines, t.provider_claims, r.reason_code
ORDER BY t.provider_lines DESC, t.provider_id, lines DESC, reason_code;

-- name: dashboard_decided_at
-- When the given claims were decided (for the time from decision to payment).
-- Parameters: claim_ids (uuid[]).
SELECT c.id AS claim_id, c.adjudicated_at
FROM claims_service.claim AS c
WHERE c.id = ANY(%(claim_ids)s::uuid[]);
