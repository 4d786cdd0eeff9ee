-- name: dashboard_paid
-- Payments paid in the last window_days days: the claim and when it was paid (the
-- dashboard measures the time from the claim's decision to its first payment).
-- Parameters: window_days.
SELECT p.claim_id, min(p.paid_at) AS paid_at, sum(p.amount) AS amount
FROM payment_service.payment AS p
WHERE p.status = 'paid'
  AND p.paid_at >= CURRENT_DATE - make_interval(days => %(window_days)s)
GROUP BY p.claim_id;
