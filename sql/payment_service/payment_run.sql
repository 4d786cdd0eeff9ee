-- name: create_payment_stage
-- The claim payments a run copies in, staged by COPY (emptied at commit), with the payee's
-- name and masked bank details read from the payee's own service. No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS payment_stage (
    claim_payment_id    UUID PRIMARY KEY,
    claim_id            UUID NOT NULL,
    claim_number        VARCHAR(50) NOT NULL,
    kind                VARCHAR(20) NOT NULL,
    readjustment_id     UUID,
    payee_type          VARCHAR(20) NOT NULL,
    payee_id            UUID NOT NULL,
    payee_name          VARCHAR(255),
    bank_code           VARCHAR(11),
    bank_account_masked VARCHAR(30),
    amount              DECIMAL(15,2) NOT NULL,
    currency            CHAR(3) NOT NULL,
    hold_reason         TEXT
) ON COMMIT DELETE ROWS

-- name: insert_payments
-- One payment per staged claim payment, exactly once (claim_payment_id is unique: a claim
-- payment copied by an earlier, interrupted run is left as it is). A payee without valid
-- bank details is held with the reason. Returns how many were new and how many held.
-- No parameters.
WITH inserted AS (
    INSERT INTO payment_service.payment
        (claim_id, claim_number, claim_payment_id, kind, readjustment_id, payee_type, payee_id, payee_name,
         bank_code, bank_account_masked, amount, currency, status, hold_reason)
    SELECT s.claim_id, s.claim_number, s.claim_payment_id, s.kind, s.readjustment_id, s.payee_type,
           s.payee_id, s.payee_name, s.bank_code, s.bank_account_masked, s.amount, s.currency,
           CASE WHEN s.hold_reason IS NULL THEN 'pending' ELSE 'held' END, s.hold_reason
    FROM payment_stage AS s
    ON CONFLICT (claim_payment_id) DO NOTHING
    RETURNING id, status, attempt
),
events AS (
    INSERT INTO payment_service.payment_event (payment_id, attempt, status, source)
    SELECT i.id, i.attempt, i.status, 'run' FROM inserted AS i
    ON CONFLICT ON CONSTRAINT uk_payment_event DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS inserted,
       (SELECT count(*) FROM inserted WHERE status = 'held') AS held,
       (SELECT count(*) FROM events) AS events

-- name: held_payees
-- Payees of payments held for missing bank details, to look their details up again.
-- No parameters.
SELECT DISTINCT p.payee_type, p.payee_id::text AS payee_id
FROM payment_service.payment AS p
WHERE p.status = 'held' AND p.hold_reason LIKE 'no verified bank details%'

-- name: create_payee_stage
-- Payees of held payments with valid bank details now (emptied at commit). No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS payee_stage (
    payee_type          VARCHAR(20) NOT NULL,
    payee_id            UUID NOT NULL,
    payee_name          VARCHAR(255) NOT NULL,
    bank_code           VARCHAR(11) NOT NULL,
    bank_account_masked VARCHAR(30) NOT NULL,
    PRIMARY KEY (payee_type, payee_id)
) ON COMMIT DELETE ROWS

-- name: release_held_payments
-- Payments held for missing bank details whose payee (staged in payee_stage) has valid
-- ones now go back to pending with them. No parameters.
UPDATE payment_service.payment AS p
SET status = 'pending', hold_reason = NULL, payee_name = s.payee_name,
    bank_code = s.bank_code, bank_account_masked = s.bank_account_masked
FROM payee_stage AS s
WHERE p.status = 'held' AND p.hold_reason LIKE 'no verified bank details%'
  AND p.payee_type = s.payee_type AND p.payee_id = s.payee_id

-- name: insert_offsets
-- Overpayments of readjusted claims to take from the payee's next payments, once per
-- readjustment, staged in offset_stage. No parameters.
WITH inserted AS (
    INSERT INTO payment_service.payee_offset
        (readjustment_id, claim_id, payee_type, payee_id, amount)
    SELECT s.readjustment_id, s.claim_id, s.payee_type, s.payee_id, s.amount
    FROM offset_stage AS s
    ON CONFLICT ON CONSTRAINT uk_payee_offset_readjustment DO NOTHING
    RETURNING 1
)
SELECT count(*) AS inserted FROM inserted

-- name: create_offset_stage
-- Overpayments to record (emptied at commit). No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS offset_stage (
    readjustment_id UUID PRIMARY KEY,
    claim_id        UUID NOT NULL,
    payee_type      VARCHAR(20) NOT NULL,
    payee_id        UUID NOT NULL,
    amount          DECIMAL(15,2) NOT NULL
) ON COMMIT DELETE ROWS

-- name: apply_offsets
-- Takes every open offset from the same payee's pending payments, oldest first on both
-- sides (payments of the same moment largest first, so that an offset is taken from as few
-- payments as it can, and the order never depends on random ids): the offsets and the
-- payments laid end to end per payee, each payment takes the part of the offsets that
-- overlaps it (payment_offset, insert-only). Returns how many pieces and how much. No
-- parameters.
WITH payments AS (
    SELECT p.id, p.payee_type, p.payee_id, p.amount - p.offset_amount AS open_amount,
           sum(p.amount - p.offset_amount) OVER w - (p.amount - p.offset_amount) AS starts_at
    FROM payment_service.payment AS p
    WHERE p.status = 'pending' AND p.batch_id IS NULL AND p.amount > p.offset_amount
    WINDOW w AS (PARTITION BY p.payee_type, p.payee_id
                 ORDER BY p.created_at, p.amount - p.offset_amount DESC, p.id)
),
offsets AS (
    SELECT o.id, o.payee_type, o.payee_id, o.amount - o.applied_amount AS remaining,
           sum(o.amount - o.applied_amount) OVER w - (o.amount - o.applied_amount) AS starts_at
    FROM payment_service.payee_offset AS o
    WHERE o.status IN ('open', 'recovery')
    WINDOW w AS (PARTITION BY o.payee_type, o.payee_id ORDER BY o.created_at, o.id)
),
pieces AS (
    SELECT p.id AS payment_id, o.id AS offset_id,
           least(p.starts_at + p.open_amount, o.starts_at + o.remaining)
             - greatest(p.starts_at, o.starts_at) AS amount
    FROM payments AS p
    JOIN offsets AS o ON o.payee_type = p.payee_type AND o.payee_id = p.payee_id
),
applied AS (
    INSERT INTO payment_service.payment_offset (payment_id, offset_id, amount)
    SELECT pc.payment_id, pc.offset_id, pc.amount FROM pieces AS pc WHERE pc.amount > 0
    RETURNING payment_id, offset_id, amount
),
by_payment AS (
    UPDATE payment_service.payment AS p
    SET offset_amount = p.offset_amount + a.amount
    FROM (SELECT payment_id, sum(amount) AS amount FROM applied GROUP BY payment_id) AS a
    WHERE p.id = a.payment_id
    RETURNING 1
),
by_offset AS (
    UPDATE payment_service.payee_offset AS o
    SET applied_amount = o.applied_amount + a.amount,
        status = CASE WHEN o.applied_amount + a.amount = o.amount THEN 'applied' ELSE 'open' END
    FROM (SELECT offset_id, sum(amount) AS amount FROM applied GROUP BY offset_id) AS a
    WHERE o.id = a.offset_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM applied) AS pieces,
       (SELECT coalesce(sum(amount), 0) FROM applied) AS amount,
       (SELECT count(*) FROM by_payment) AS payments,
       (SELECT count(*) FROM by_offset) AS offsets

-- name: settle_offset_payments
-- Payments the offsets took whole: nothing to transfer, paid by offset (with an event).
-- No parameters.
WITH paid AS (
    UPDATE payment_service.payment AS p
    SET status = 'paid', paid_at = now(), reference_number = 'OFFSET', claim_synced_at = NULL
    WHERE p.status = 'pending' AND p.batch_id IS NULL AND p.offset_amount = p.amount
    RETURNING p.id, p.attempt, p.amount
),
events AS (
    INSERT INTO payment_service.payment_event
        (payment_id, attempt, status, amount, bank_reference, source)
    SELECT paid.id, paid.attempt, 'paid', 0, 'OFFSET', 'offset' FROM paid
    ON CONFLICT ON CONSTRAINT uk_payment_event DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM paid) AS paid, (SELECT count(*) FROM events) AS events

-- name: list_offsets_for_recovery
-- Open offsets of payees with nothing due (no pending payment left to take them from) are
-- listed for recovery. No parameters.
UPDATE payment_service.payee_offset AS o
SET status = 'recovery'
WHERE o.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM payment_service.payment AS p
                  WHERE p.payee_type = o.payee_type AND p.payee_id = o.payee_id
                    AND p.status = 'pending' AND p.batch_id IS NULL
                    AND p.amount > p.offset_amount)

-- name: offsets_to_settle
-- Offsets recorded for readjustments, with how they stand: the claims service settles a
-- readjustment once its offset is recorded (applied, or listed for recovery).
-- Parameters: %(readjustment_ids)s (uuid[]).
SELECT o.readjustment_id::text AS readjustment_id, o.id::text AS offset_id, o.status
FROM payment_service.payee_offset AS o
WHERE o.readjustment_id = ANY(%(readjustment_ids)s::uuid[])

-- name: create_batches
-- Groups the pending payments into draft batches by payment method, payee type and value
-- date, at most %(max_batch_payments)s a batch, with their totals (gross, offsets, net), and
-- numbers them PAY-<value date>-<P|M>-<n>, n counting on from the day's earlier batches.
-- Each payment gets its batch, status batched and its end-to-end id for the bank
-- (E + 24 hex digits of its id + attempt). A batch whose net total is above %(threshold)s
-- needs a person's approval. Parameters: %(value_date)s, %(max_batch_payments)s,
-- %(threshold)s, %(flow_run_id)s.
WITH candidates AS (
    SELECT p.id, p.payee_type, p.amount, p.offset_amount,
           (row_number() OVER (PARTITION BY p.payee_type ORDER BY p.payee_id, p.id) - 1)
             / %(max_batch_payments)s AS chunk
    FROM payment_service.payment AS p
    WHERE p.status = 'pending' AND p.batch_id IS NULL AND p.amount > p.offset_amount
),
groups AS (
    SELECT c.payee_type, c.chunk, count(*) AS payments, sum(c.amount) AS gross,
           sum(c.offset_amount) AS offsets
    FROM candidates AS c
    GROUP BY c.payee_type, c.chunk
),
numbered AS (
    SELECT g.*,
           'PAY-' || to_char(%(value_date)s::date, 'YYYYMMDD') || '-'
             || upper(left(g.payee_type, 1)) || '-'
             || lpad((coalesce((SELECT count(*) FROM payment_service.payment_batch AS b
                                WHERE b.value_date = %(value_date)s::date
                                  AND b.payee_type = g.payee_type), 0)
                      + row_number() OVER (PARTITION BY g.payee_type ORDER BY g.chunk))::text,
                     3, '0') AS batch_number
    FROM groups AS g
),
batches AS (
    INSERT INTO payment_service.payment_batch
        (batch_number, payment_method, status, gross_amount, offset_amount, total_amount,
         payment_count, scheduled_date, payee_type, value_date, message_id, flow_run_id,
         approval_required)
    SELECT n.batch_number, 'bank_transfer', 'draft', n.gross, n.offsets, n.gross - n.offsets,
           n.payments, %(value_date)s::date, n.payee_type, %(value_date)s::date,
           n.batch_number, %(flow_run_id)s, n.gross - n.offsets > %(threshold)s
    FROM numbered AS n
    RETURNING id, batch_number, payee_type
),
assigned AS (
    UPDATE payment_service.payment AS p
    SET batch_id = b.id, status = 'batched',
        end_to_end_id = 'E' || left(replace(p.id::text, '-', ''), 24) || '-' || p.attempt
    FROM candidates AS c
    JOIN numbered AS n ON n.payee_type = c.payee_type AND n.chunk = c.chunk
    JOIN batches AS b ON b.batch_number = n.batch_number
    WHERE p.id = c.id
    RETURNING p.id, p.batch_id, p.attempt, p.end_to_end_id, p.amount - p.offset_amount AS net
),
events AS (
    INSERT INTO payment_service.payment_event
        (payment_id, batch_id, attempt, end_to_end_id, status, amount, source)
    SELECT a.id, a.batch_id, a.attempt, a.end_to_end_id, 'batched', a.net, 'run'
    FROM assigned AS a
    ON CONFLICT ON CONSTRAINT uk_payment_event DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM batches) AS batches,
       (SELECT count(*) FROM assigned) AS payments,
       (SELECT count(*) FROM events) AS events

-- name: no_nested_loops_for_the_check
-- For the rest of the batching transaction: no nested-loop joins. The check below reads the
-- batches and payments this very transaction just wrote, which the statistics do not know
-- yet (one row each, they say); a nested loop over a million payments on each side of its
-- claim join ran for hours in bench/payments.py, a hash join takes seconds. No parameters.
SET LOCAL enable_nestloop = off

-- name: batch_check_rows
-- Per payment of the run's batches, what the checkpoint checks: the batch's recorded totals
-- next to the sums of its payments, the bank details, the amount, and how many live
-- payments (not failed for good) the claim payment's claim has of its kind.
-- Parameters: %(flow_run_id)s.
WITH run_batches AS (
    SELECT b.id, b.batch_number, b.total_amount, b.gross_amount, b.payment_count
    FROM payment_service.payment_batch AS b
    WHERE b.flow_run_id = %(flow_run_id)s
),
sums AS (
    SELECT p.batch_id, sum(p.amount - p.offset_amount) AS net, count(*) AS payments
    FROM payment_service.payment AS p
    WHERE p.batch_id IN (SELECT rb.id FROM run_batches AS rb)
    GROUP BY p.batch_id
),
claim_counts AS (
    SELECT p.claim_id, count(*) AS claim_payments
    FROM payment_service.payment AS p
    WHERE p.kind = 'claim' AND p.status <> 'exception'
      AND p.claim_id IN (SELECT q.claim_id FROM payment_service.payment AS q
                         WHERE q.batch_id IN (SELECT rb.id FROM run_batches AS rb))
    GROUP BY p.claim_id
)
SELECT rb.batch_number,
       p.id::text AS payment_id,
       p.claim_id::text AS claim_id,
       (rb.total_amount * 100)::bigint AS batch_total_cents,
       (s.net * 100)::bigint AS payments_total_cents,
       rb.payment_count AS batch_count,
       s.payments AS payments_count,
       (rb.total_amount = s.net AND rb.payment_count = s.payments) AS total_matches,
       p.bank_code,
       p.bank_account_masked,
       ((p.amount - p.offset_amount) * 100)::bigint AS net_cents,
       coalesce(cc.claim_payments, 0) AS claim_payments
FROM run_batches AS rb
JOIN payment_service.payment AS p ON p.batch_id = rb.id
JOIN sums AS s ON s.batch_id = rb.id
LEFT JOIN claim_counts AS cc ON cc.claim_id = p.claim_id AND p.kind = 'claim'
