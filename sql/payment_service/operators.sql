-- name: payments_by_status
-- Payments held back or on the exception list, for an operator: payee name and masked account
-- only, the net amount, the attempt, why (the hold reason, else the bank's last failure with
-- its reason code), the batch they were last in, and the last operator retry.
-- Parameters: %(status)s ('held' or 'exception'), %(limit)s.
SELECT p.id::text AS payment_id,
       p.claim_number,
       p.kind,
       p.payee_type,
       p.payee_name,
       p.bank_code,
       p.bank_account_masked,
       ((p.amount - p.offset_amount) * 100)::bigint AS net_cents,
       p.status,
       p.attempt,
       coalesce(p.hold_reason,
                failure.status || coalesce(' ' || failure.reason_code, '')) AS reason,
       b.batch_number,
       p.updated_at
FROM payment_service.payment AS p
LEFT JOIN payment_service.payment_batch AS b ON b.id = p.batch_id
LEFT JOIN LATERAL (
    SELECT e.status, e.reason_code
    FROM payment_service.payment_event AS e
    WHERE e.payment_id = p.id AND e.status IN ('failed', 'returned')
    ORDER BY e.id DESC
    LIMIT 1
) AS failure ON true
WHERE p.status = %(status)s
ORDER BY p.updated_at, p.id
LIMIT %(limit)s

-- name: payments_for_retry
-- The payments an operator named, by payment id or by an end-to-end id of any of their
-- attempts (a retried payment's earlier id still finds it), as they stand, with the retry of
-- their current attempt if there was one: what `payments retry` decides on. `reference` is
-- the end-to-end id that found the payment (NULL: found by its id).
-- Parameters: %(payment_ids)s (uuid[]), %(end_to_end_ids)s (text[]).
WITH named AS (
    SELECT p.id, NULL::text AS reference
    FROM payment_service.payment AS p
    WHERE p.id = ANY(%(payment_ids)s::uuid[])
    UNION
    SELECT p.id, p.end_to_end_id
    FROM payment_service.payment AS p
    WHERE p.end_to_end_id = ANY(%(end_to_end_ids)s::text[])
    UNION
    SELECT e.payment_id, e.end_to_end_id
    FROM payment_service.payment_event AS e
    WHERE e.end_to_end_id = ANY(%(end_to_end_ids)s::text[])
)
SELECT n.reference,
       p.id::text AS payment_id,
       p.end_to_end_id,
       p.status,
       p.attempt,
       p.hold_reason,
       r.retried_by,
       r.retried_at
FROM named AS n
JOIN payment_service.payment AS p ON p.id = n.id
LEFT JOIN payment_service.payment_retry AS r
    ON r.payment_id = p.id AND r.attempt = p.attempt

-- name: retry_payments
-- An operator's retry: each payment named that is on the exception list or held by a
-- rejected batch (never one held for bank details: the run releases those itself) goes back
-- to pending for the next run with its attempt counted (a new end-to-end id in its next
-- batch), recorded once per payment and attempt (payment_retry) with an `operator` event.
-- Repeating it changes nothing. Returns the payments moved.
-- Parameters: %(payment_ids)s (uuid[]), %(retried_by)s, %(reason)s.
WITH target AS (
    SELECT p.id, p.status, p.attempt,
           coalesce(p.hold_reason,
                    (SELECT e.status || coalesce(' ' || e.reason_code, '')
                     FROM payment_service.payment_event AS e
                     WHERE e.payment_id = p.id AND e.status IN ('failed', 'returned')
                     ORDER BY e.id DESC LIMIT 1)) AS reason
    FROM payment_service.payment AS p
    WHERE p.id = ANY(%(payment_ids)s::uuid[])
      AND (p.status = 'exception'
           OR (p.status = 'held' AND p.hold_reason LIKE 'batch %% rejected by %%'))
    FOR UPDATE
),
recorded AS (
    INSERT INTO payment_service.payment_retry
        (payment_id, attempt, previous_status, previous_reason, retried_by, reason)
    SELECT t.id, t.attempt + 1, t.status, t.reason, %(retried_by)s, %(reason)s
    FROM target AS t
    ON CONFLICT ON CONSTRAINT uk_payment_retry DO NOTHING
    RETURNING payment_id, attempt
),
moved AS (
    UPDATE payment_service.payment AS p
    SET status = 'pending', hold_reason = NULL, batch_id = NULL, end_to_end_id = NULL,
        attempt = r.attempt
    FROM recorded AS r
    WHERE p.id = r.payment_id
    RETURNING p.id, p.attempt
),
events AS (
    INSERT INTO payment_service.payment_event (payment_id, attempt, status, source)
    SELECT m.id, m.attempt, 'pending', 'operator' FROM moved AS m
    ON CONFLICT ON CONSTRAINT uk_payment_event DO NOTHING
    RETURNING 1
)
SELECT m.id::text AS payment_id, m.attempt FROM moved AS m
