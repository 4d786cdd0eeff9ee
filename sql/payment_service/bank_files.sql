-- name: batches_to_send
-- Approved batches whose files are not sent yet (this run's or an earlier run's), oldest
-- first. No parameters.
SELECT b.id::text AS batch_id, b.batch_number, b.message_id, b.payee_type, b.value_date,
       b.created_at, b.payment_count, (b.total_amount * 100)::bigint AS total_cents
FROM payment_service.payment_batch AS b
WHERE b.status = 'approved'
ORDER BY b.created_at, b.batch_number

-- name: batch_payments_for_file
-- The payments of one batch as the bank file needs them (no account number: that comes from
-- the payee's service): end-to-end id, net amount in cents, payee, claim number later.
-- Parameters: %(batch_number)s.
SELECT p.id::text AS payment_id,
       p.end_to_end_id,
       ((p.amount - p.offset_amount) * 100)::bigint AS amount_cents,
       (p.amount * 100)::bigint AS gross_cents,
       (p.offset_amount * 100)::bigint AS offset_cents,
       p.currency,
       p.payee_type,
       p.payee_id::text AS payee_id,
       p.payee_name,
       p.bank_code AS bank_bic,
       p.claim_id::text AS claim_id,
       p.claim_number,
       p.kind,
       p.claim_payment_id::text AS claim_payment_id
FROM payment_service.payment AS p
JOIN payment_service.payment_batch AS b ON b.id = p.batch_id
WHERE b.batch_number = %(batch_number)s
  AND p.status IN ('batched', 'sent')
ORDER BY p.end_to_end_id

-- name: record_bank_file
-- Records a file written for a batch (once per batch and format; a rewrite gives the same
-- bytes, so the same hash). Parameters: %(batch_number)s, %(format)s, %(file_name)s,
-- %(sha256)s, %(size_bytes)s.
INSERT INTO payment_service.bank_file (batch_id, format, file_name, sha256, size_bytes)
SELECT b.id, %(format)s, %(file_name)s, %(sha256)s, %(size_bytes)s
FROM payment_service.payment_batch AS b
WHERE b.batch_number = %(batch_number)s
ON CONFLICT ON CONSTRAINT uk_bank_file DO NOTHING

-- name: mark_batch_sent
-- The batch's files are in the outbox: batch sent with their hashes, its payments sent
-- (with an event each). Parameters: %(batch_number)s, %(pain001_sha256)s, %(csv_sha256)s.
WITH batch AS (
    UPDATE payment_service.payment_batch AS b
    SET status = 'sent', sent_at = now(), pain001_sha256 = %(pain001_sha256)s,
        csv_sha256 = %(csv_sha256)s
    WHERE b.batch_number = %(batch_number)s AND b.status = 'approved'
    RETURNING b.id
),
sent AS (
    UPDATE payment_service.payment AS p
    SET status = 'sent'
    FROM batch
    WHERE p.batch_id = batch.id AND p.status = 'batched'
    RETURNING p.id, p.batch_id, p.attempt, p.end_to_end_id, p.amount - p.offset_amount AS net
),
events AS (
    INSERT INTO payment_service.payment_event
        (payment_id, batch_id, attempt, end_to_end_id, status, amount, source)
    SELECT s.id, s.batch_id, s.attempt, s.end_to_end_id, 'sent', s.net, 'run' FROM sent AS s
    ON CONFLICT ON CONSTRAINT uk_payment_event DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM batch) AS batches, (SELECT count(*) FROM sent) AS payments

-- name: batch_file_hashes
-- The recorded hashes of a batch's files. Parameters: %(batch_number)s.
SELECT f.format, f.file_name, f.sha256
FROM payment_service.bank_file AS f
JOIN payment_service.payment_batch AS b ON b.id = f.batch_id
WHERE b.batch_number = %(batch_number)s
ORDER BY f.format
