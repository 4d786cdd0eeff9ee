-- name: dashboard_daily
-- The claims dashboard (v_claims_dashboard: the last 30 days of submissions), one row per
-- day, oldest first. Days are those of the session's time zone (the report sets Jakarta's).
-- Parameters: none.
SELECT d.date::date AS day,
       d.total_claims,
       d.pending_claims,
       d.pended_claims,
       d.approved_claims,
       d.partially_approved_claims,
       d.rejected_claims,
       coalesce(d.total_charged, 0) AS total_charged,
       coalesce(d.total_approved, 0) AS total_approved,
       d.avg_processing_hours
FROM claims_service.v_claims_dashboard AS d
ORDER BY d.date;

-- name: dashboard_rejection_reasons
-- Rejected lines of the dashboard's window (claims submitted in the last 30 days) by reason,
-- with the reason's words and its X12 CARC/group code; most frequent first.
-- Parameters: limit.
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
  AND c.submission_date >= CURRENT_DATE - INTERVAL '30 days'
GROUP BY ci.reason_code, r.description, r.carc, r.group_code
ORDER BY lines DESC, ci.reason_code
LIMIT %(limit)s;
