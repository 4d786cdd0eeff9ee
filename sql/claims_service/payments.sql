-- name: pending_claim_payments
-- Claim payments waiting for a payment run (status pending), oldest first, with the claim
-- number and, for a supplementary payment, its readjustment. Amounts in cents.
-- Parameters: %(limit)s.
SELECT cp.id::text AS claim_payment_id,
       cp.claim_id::text AS claim_id,
       c.claim_number,
       CASE WHEN cp.readjustment_id IS NULL THEN 'claim' ELSE 'supplementary' END AS kind,
       cp.readjustment_id::text AS readjustment_id,
       cp.payee_type,
       cp.payee_id::text AS payee_id,
       (cp.amount * 100)::bigint AS amount_cents,
       cp.currency
FROM claims_service.claim_payment AS cp
JOIN claims_service.claim AS c ON c.id = cp.claim_id
WHERE cp.status = 'pending'
ORDER BY cp.created_at, cp.id
LIMIT %(limit)s

-- name: create_sync_stage
-- The state of claim payments as the payment service has it (emptied at commit).
-- No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS claim_payment_sync (
    claim_payment_id UUID PRIMARY KEY,
    status           VARCHAR(20) NOT NULL,
    reference_number VARCHAR(60),
    paid_at          TIMESTAMP WITH TIME ZONE
) ON COMMIT DELETE ROWS

-- name: sync_claim_payments
-- Takes the staged state over: a payment copied to the payment service is scheduled, a paid
-- one paid with the bank's reference, its time and its date in Jakarta. A claim payment
-- already in that state is left alone (a sync repeated changes nothing). No parameters.
UPDATE claims_service.claim_payment AS cp
SET status = s.status,
    reference_number = s.reference_number,
    paid_at = s.paid_at,
    payment_date = (s.paid_at AT TIME ZONE 'Asia/Jakarta')::date
FROM claim_payment_sync AS s
WHERE cp.id = s.claim_payment_id
  AND cp.status IN ('pending', 'scheduled', 'paid')
  AND (cp.status, cp.reference_number, cp.paid_at)
      IS DISTINCT FROM (s.status, s.reference_number, s.paid_at)

-- name: settle_no_change_readjustments
-- A readjustment that changed nothing has nothing to pay or recover: settled at once.
-- No parameters.
UPDATE claims_service.claim_readjustment AS r
SET status = 'settled', settled_at = now(), settlement = 'no_change'
WHERE r.status = 'open' AND r.kind = 'no_change'

-- name: settle_underpayments
-- An open underpayment becomes a supplementary claim payment of the difference, to the
-- claim's payee, pending for the next payment run; the readjustment is settled by it (one
-- statement: both or neither). No parameters.
WITH open_underpayments AS (
    SELECT r.id, r.claim_id, r.difference, c.provider_id, c.member_id, ct.payee_type
    FROM claims_service.claim_readjustment AS r
    JOIN claims_service.claim AS c ON c.id = r.claim_id
    JOIN common.claim_type AS ct ON ct.code = c.claim_type
    WHERE r.status = 'open' AND r.kind = 'underpayment'
    FOR UPDATE OF r
),
supplementary AS (
    INSERT INTO claims_service.claim_payment
        (claim_id, payee_type, payee_id, amount, status, readjustment_id)
    SELECT u.claim_id, u.payee_type,
           CASE WHEN u.payee_type = 'provider' THEN u.provider_id ELSE u.member_id END,
           u.difference, 'pending', u.id
    FROM open_underpayments AS u
    ON CONFLICT ON CONSTRAINT uk_claim_payment_readjustment DO NOTHING
    RETURNING id, readjustment_id
),
settled AS (
    UPDATE claims_service.claim_readjustment AS r
    SET status = 'settled', settled_at = now(), settlement = 'supplementary_payment',
        settlement_reference = s.id::text
    FROM supplementary AS s
    WHERE r.id = s.readjustment_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM supplementary) AS payments, (SELECT count(*) FROM settled) AS settled

-- name: open_overpayments
-- Open overpayments, for the payment service to take from the payee's next payments:
-- the claim's payee and the amount in cents. No parameters.
SELECT r.id::text AS readjustment_id,
       r.claim_id::text AS claim_id,
       ct.payee_type,
       (CASE WHEN ct.payee_type = 'provider' THEN c.provider_id ELSE c.member_id END)::text
           AS payee_id,
       (-r.difference * 100)::bigint AS amount_cents
FROM claims_service.claim_readjustment AS r
JOIN claims_service.claim AS c ON c.id = r.claim_id
JOIN common.claim_type AS ct ON ct.code = c.claim_type
WHERE r.status = 'open' AND r.kind = 'overpayment'
ORDER BY r.created_at, r.id

-- name: settle_overpayments
-- Overpayments the payment service recorded as offsets are settled: by offset, or listed for
-- recovery when nothing was due to the payee. Parameters: %(readjustment_ids)s (uuid[]),
-- %(offset_ids)s (text[]), %(settlements)s (text[]), all in the same order.
UPDATE claims_service.claim_readjustment AS r
SET status = 'settled', settled_at = now(), settlement = s.settlement,
    settlement_reference = s.offset_id
FROM unnest(%(readjustment_ids)s::uuid[], %(offset_ids)s::text[], %(settlements)s::text[])
     AS s (id, offset_id, settlement)
WHERE r.id = s.id AND r.status = 'open' AND r.kind = 'overpayment'
