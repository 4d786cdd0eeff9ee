-- name: response_file_imported
-- Whether a bank response file (by its SHA-256) was imported before. Parameters: %(sha256)s.
SELECT f.file_name, f.imported_at, f.applied, f.rejected
FROM payment_service.bank_response_file AS f
WHERE f.sha256 = %(sha256)s

-- name: payments_by_end_to_end
-- The payments a response names, as the entry check needs them (net amount in cents).
-- Parameters: %(end_to_end_ids)s (text[]).
SELECT p.end_to_end_id,
       ((p.amount - p.offset_amount) * 100)::bigint AS amount_cents,
       p.currency,
       p.status
FROM payment_service.payment AS p
WHERE p.end_to_end_id = ANY(%(end_to_end_ids)s::text[])

-- name: create_entry_stage
-- The checked entries of one response file (emptied at commit). No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS response_entry_stage (
    end_to_end_id  VARCHAR(35) PRIMARY KEY,
    status         VARCHAR(20) NOT NULL,
    bank_reference VARCHAR(60),
    status_time    TIMESTAMP WITH TIME ZONE NOT NULL,
    reason_code    VARCHAR(20)
) ON COMMIT DELETE ROWS

-- name: record_response_file
-- Records a response file once, by hash; nothing when it was recorded before (then the
-- import of it stops: importing a file twice changes nothing). Parameters: %(sha256)s,
-- %(file_name)s, %(kind)s, %(entries)s, %(applied)s, %(rejected)s, %(flow_run_id)s.
INSERT INTO payment_service.bank_response_file
    (sha256, file_name, kind, entries, applied, rejected, flow_run_id)
VALUES (%(sha256)s, %(file_name)s, %(kind)s, %(entries)s, %(applied)s, %(rejected)s,
        %(flow_run_id)s)
ON CONFLICT (sha256) DO NOTHING

-- name: record_response_errors
-- The rejected entries of a response file, with their messages (staged in
-- response_error_stage). Parameters: %(sha256)s.
INSERT INTO payment_service.bank_response_error (sha256, entry, message)
SELECT %(sha256)s, left(e.entry, 100), e.message FROM response_error_stage AS e

-- name: create_error_stage
-- Rejected entries of one response file (emptied at commit). No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS response_error_stage (
    entry   TEXT NOT NULL,
    message TEXT NOT NULL
) ON COMMIT DELETE ROWS

-- name: apply_entries
-- Applies the staged entries: an event per payment, attempt and status (once: the same
-- answer again adds nothing), then the payment's status. paid: reference and time kept; a
-- paid payment the bank returns later is returned. failed or returned: back to pending for
-- a later batch (attempt + 1, a new end-to-end id then) while attempts remain below
-- %(max_attempts)s, else exception. A change that concerns the claims service is marked for
-- its sync (claim_synced_at NULL). Parameters: %(sha256)s, %(max_attempts)s.
WITH matched AS (
    SELECT p.id, p.batch_id, p.attempt, p.status AS old_status, s.*
    FROM response_entry_stage AS s
    JOIN payment_service.payment AS p ON p.end_to_end_id = s.end_to_end_id
    WHERE (s.status = 'paid' AND p.status IN ('batched', 'sent'))
       OR (s.status IN ('failed', 'returned') AND p.status IN ('batched', 'sent', 'paid'))
),
events AS (
    INSERT INTO payment_service.payment_event
        (payment_id, batch_id, attempt, end_to_end_id, status, bank_reference, status_time,
         reason_code, source, response_sha256)
    SELECT m.id, m.batch_id, m.attempt, m.end_to_end_id, m.status, m.bank_reference,
           m.status_time, m.reason_code, 'bank', %(sha256)s
    FROM matched AS m
    ON CONFLICT ON CONSTRAINT uk_payment_event DO NOTHING
    RETURNING payment_id, status
),
updated AS (
    UPDATE payment_service.payment AS p
    SET status = CASE
            WHEN m.status = 'paid' THEN 'paid'
            WHEN p.attempt >= %(max_attempts)s THEN 'exception'
            ELSE 'pending' END,
        batch_id = CASE WHEN m.status = 'paid' OR p.attempt >= %(max_attempts)s
                        THEN p.batch_id END,
        attempt = CASE WHEN m.status <> 'paid' AND p.attempt < %(max_attempts)s
                       THEN p.attempt + 1 ELSE p.attempt END,
        end_to_end_id = CASE WHEN m.status = 'paid' OR p.attempt >= %(max_attempts)s
                             THEN p.end_to_end_id END,
        reference_number = m.bank_reference,
        bank_status_time = m.status_time,
        paid_at = CASE WHEN m.status = 'paid' THEN m.status_time END,
        claim_synced_at = NULL
    FROM matched AS m
    WHERE p.id = m.id
      AND EXISTS (SELECT 1 FROM events AS e WHERE e.payment_id = m.id)
    RETURNING p.id, p.status
)
SELECT (SELECT count(*) FROM updated WHERE status = 'paid') AS paid,
       (SELECT count(*) FROM updated WHERE status = 'pending') AS retried,
       (SELECT count(*) FROM updated WHERE status = 'exception') AS exceptions

-- name: complete_batches
-- Sent batches none of whose payments waits for the bank any more are completed.
-- No parameters.
UPDATE payment_service.payment_batch AS b
SET status = 'completed', completed_at = now()
WHERE b.status = 'sent'
  AND NOT EXISTS (SELECT 1 FROM payment_service.payment AS p
                  WHERE p.batch_id = b.id AND p.status IN ('batched', 'sent'))

-- name: payments_to_sync
-- Payments whose state the claims service has not taken over yet: its claim payment becomes
-- paid (with the bank's reference and time) or stays scheduled. Parameters: %(limit)s.
SELECT p.id::text AS payment_id,
       p.claim_payment_id::text AS claim_payment_id,
       p.status,
       p.reference_number,
       p.paid_at,
       p.updated_at
FROM payment_service.payment AS p
WHERE p.claim_synced_at IS NULL
ORDER BY p.id
LIMIT %(limit)s

-- name: mark_synced
-- The claims service took these payments' state over (unless they changed since it was
-- read: its updated_at is still the one read). Parameters: %(payment_ids)s (uuid[]),
-- %(updated_ats)s (timestamptz[], in the same order).
UPDATE payment_service.payment AS p
SET claim_synced_at = now()
FROM unnest(%(payment_ids)s::uuid[], %(updated_ats)s::timestamptz[]) AS s (id, updated_at)
WHERE p.id = s.id
  AND p.claim_synced_at IS NULL
  AND p.updated_at = s.updated_at
