-- name: lease_for_readjudication
-- Leases the named claims that are decided (approved, partially approved or rejected) or
-- pended, and whose lines are all through posting, for a re-adjudication run: status
-- in_review, the status kept in status_before_lease. Claims leased by another run are
-- skipped. (A pended claim is asked for by name: it is decided again now, whatever it
-- waits for.) As in lease_claims, a claim whose member another run holds (a live lease) or
-- left unposted waits, and the member's advisory lock is taken: decided against
-- accumulators without the other run's amounts, it could pay beyond a limit. The caller
-- runs give_back_contested_members in the same transaction.
-- Parameters: run_id, claim_numbers (text[]), lease_seconds, lock_space (int).
WITH wanted AS (
    SELECT c.id, c.member_id
    FROM claims_service.claim AS c
    WHERE c.claim_number = ANY(%(claim_numbers)s::text[])
      AND c.status IN ('approved', 'partially_approved', 'rejected', 'pended')
      AND NOT EXISTS (
          SELECT 1
          FROM claims_service.claim_item AS ci
          JOIN claims_service.posting_outbox AS o ON o.claim_item_id = ci.id
          WHERE ci.claim_id = c.id)
    FOR UPDATE OF c SKIP LOCKED
),
members AS (
    SELECT w.member_id
    FROM wanted AS w
    GROUP BY w.member_id
    HAVING w.member_id NOT IN (SELECT u.member_id
                               FROM claims_service.unsettled_members(%(run_id)s) AS u)
       AND pg_try_advisory_xact_lock(%(lock_space)s, hashtext(w.member_id::text))
),
leased AS (
    UPDATE claims_service.claim AS c
    SET status_before_lease = c.status,
        status = 'in_review',
        lease_owner = %(run_id)s,
        lease_expires_at = now() + make_interval(secs => %(lease_seconds)s)
    FROM wanted AS w
    JOIN members AS m ON m.member_id = w.member_id
    WHERE c.id = w.id
    RETURNING c.id, c.member_id
)
SELECT count(*) AS claims, count(DISTINCT member_id) AS members
FROM leased;

-- name: leased_claim_numbers
-- The numbers of the claims a run holds (in_review under its lease). Parameters: run_id.
SELECT c.claim_number
FROM claims_service.claim AS c
WHERE c.lease_owner = %(run_id)s
  AND c.status = 'in_review'
ORDER BY c.claim_number;

-- name: claims_by_number
-- The status of the named claims (to report those that were not re-adjudicated, and why).
-- Parameters: claim_numbers (text[]).
SELECT c.claim_number, c.status
FROM claims_service.claim AS c
WHERE c.claim_number = ANY(%(claim_numbers)s::text[]);

-- name: leased_overrides
-- Reviewers' manual decisions on the lines of a run's leased claims, amounts in cents.
-- Parameters: run_id.
SELECT o.claim_item_id::text AS line_id,
       o.decision,
       (o.approved_amount * 100)::bigint AS approved_cents,
       o.reason_code
FROM claims_service.claim_item_override AS o
JOIN claims_service.claim_item AS ci ON ci.id = o.claim_item_id
JOIN claims_service.claim AS c ON c.id = ci.claim_id
WHERE c.lease_owner = %(run_id)s
  AND c.status = 'in_review';

-- name: line_for_override
-- The line a reviewer decides, with its charge and the claim's status.
-- Parameters: claim_number, line_number.
SELECT ci.id, ci.charged_amount, c.status AS claim_status
FROM claims_service.claim AS c
JOIN claims_service.claim_item AS ci ON ci.claim_id = c.id
WHERE c.claim_number = %(claim_number)s
  AND ci.line_number = %(line_number)s;

-- name: upsert_override
-- Records (or replaces) a reviewer's decision on a line; returns the display name and the
-- login the database recorded as the writer (set by claims_service 0008's trigger).
-- Parameters: line_id, decision, approved_amount, reason_code, note, overridden_by.
INSERT INTO claims_service.claim_item_override
    (claim_item_id, decision, approved_amount, reason_code, note, overridden_by)
VALUES (%(line_id)s, %(decision)s, %(approved_amount)s, %(reason_code)s, %(note)s,
        %(overridden_by)s)
ON CONFLICT ON CONSTRAINT uk_claim_item_override_item DO UPDATE SET
    decision = EXCLUDED.decision,
    approved_amount = EXCLUDED.approved_amount,
    reason_code = EXCLUDED.reason_code,
    note = EXCLUDED.note,
    overridden_by = EXCLUDED.overridden_by,
    overridden_at = now()
RETURNING overridden_by, overridden_login;

-- name: rejection_reason
-- A reason a reviewer may reject a line with (a rejection code). Parameters: code.
SELECT rc.code
FROM common.reason_code AS rc
WHERE rc.code = %(code)s
  AND rc.category = 'rejection';
