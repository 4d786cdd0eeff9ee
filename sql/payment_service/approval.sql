-- name: batches_awaiting_decision
-- Draft batches with their summary for an approver: count, net total, the largest payment.
-- Parameters: %(flow_run_id)s (NULL: every draft batch).
SELECT b.batch_number, b.payee_type, b.value_date, b.payment_count,
       (b.total_amount * 100)::bigint AS total_cents,
       (b.offset_amount * 100)::bigint AS offset_cents,
       b.approval_required,
       b.flow_run_id::text AS flow_run_id,
       b.created_at
FROM payment_service.payment_batch AS b
WHERE b.status = 'draft'
  AND (%(flow_run_id)s::uuid IS NULL OR b.flow_run_id = %(flow_run_id)s::uuid)
ORDER BY b.batch_number

-- name: largest_payments
-- The largest payments of a batch, for the approver: payee name and masked account only.
-- Parameters: %(batch_number)s, %(limit)s.
SELECT p.payee_name, p.bank_code, p.bank_account_masked,
       ((p.amount - p.offset_amount) * 100)::bigint AS net_cents
FROM payment_service.payment AS p
JOIN payment_service.payment_batch AS b ON b.id = p.batch_id
WHERE b.batch_number = %(batch_number)s
ORDER BY p.amount - p.offset_amount DESC, p.id
LIMIT %(limit)s

-- name: record_decision
-- Records a decision on a draft batch (once: the first decision stands) and moves the
-- batch to approved or rejected. A rejected batch's payments are held with the reason.
-- Returns the batch's status after, and whether this call decided it.
-- Parameters: %(batch_number)s, %(decision)s, %(decided_by)s, %(comment)s, %(source)s,
-- %(flow_run_id)s.
WITH batch AS (
    SELECT b.id, b.status
    FROM payment_service.payment_batch AS b
    WHERE b.batch_number = %(batch_number)s
    FOR UPDATE
),
decided AS (
    INSERT INTO payment_service.batch_approval
        (batch_id, decision, decided_by, comment, source, flow_run_id)
    SELECT batch.id, %(decision)s, %(decided_by)s, %(comment)s, %(source)s, %(flow_run_id)s
    FROM batch
    WHERE batch.status = 'draft'
    ON CONFLICT ON CONSTRAINT uk_batch_approval_batch DO NOTHING
    RETURNING batch_id, decision
),
moved AS (
    UPDATE payment_service.payment_batch AS b
    SET status = CASE d.decision WHEN 'approve' THEN 'approved' ELSE 'rejected' END
    FROM decided AS d
    WHERE b.id = d.batch_id
    RETURNING b.id, b.status
),
held AS (
    UPDATE payment_service.payment AS p
    SET status = 'held',
        hold_reason = left('batch ' || %(batch_number)s || ' rejected by ' || %(decided_by)s
                           || coalesce(': ' || %(comment)s, ''), 500)
    FROM moved AS m
    WHERE p.batch_id = m.id AND m.status = 'rejected'
    RETURNING 1
)
SELECT coalesce((SELECT m.status FROM moved AS m), (SELECT batch.status FROM batch)) AS status,
       (SELECT count(*) FROM decided) AS decided,
       (SELECT count(*) FROM held) AS held

-- name: list_batches
-- Batches, newest first, with their status, totals and decision. Parameters: %(limit)s.
SELECT b.batch_number, b.payee_type, b.value_date, b.status, b.payment_count,
       (b.total_amount * 100)::bigint AS total_cents,
       b.approval_required,
       b.flow_run_id::text AS flow_run_id,
       a.decision, a.decided_by, a.source AS decided_through
FROM payment_service.payment_batch AS b
LEFT JOIN payment_service.batch_approval AS a ON a.batch_id = b.id
ORDER BY b.created_at DESC, b.batch_number DESC
LIMIT %(limit)s

-- name: batch_flow_run
-- The flow run that made a batch: the run a shell's decision resumes if it waits for one.
-- Parameters: %(batch_number)s.
SELECT b.flow_run_id::text AS flow_run_id
FROM payment_service.payment_batch AS b
WHERE b.batch_number = %(batch_number)s
