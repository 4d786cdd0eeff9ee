-- name: trail_payments
-- The payments made for one claim (their versions are in the row audit), with their batch
-- number and its flow run; account numbers only masked. Parameters: %(claim_id)s.
SELECT p.id::text AS payment_id, p.kind, p.status, p.amount, p.bank_account_masked,
       b.batch_number, b.flow_run_id::text AS flow_run_id
FROM payment_service.payment AS p
LEFT JOIN payment_service.payment_batch AS b ON b.id = p.batch_id
WHERE p.claim_id = %(claim_id)s::uuid
ORDER BY p.created_at, p.id
