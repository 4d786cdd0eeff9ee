-- name: lease_claims
-- Leases the adjudicable claims (submitted, pended, or in_review with an expired lease) of
-- whole members for one run: status in_review, lease_owner = the run, lease_expires_at.
-- Rows locked by another run are skipped (FOR UPDATE SKIP LOCKED); a member whose rows two
-- runs both picked goes to the one that wins its advisory lock, so a member's claims never
-- split across chunks. A chunk may exceed max_claims by the rest of its last member.
-- A claim pended at or after run_started (by this run or one started with it) waits for
-- the next run: a run adjudicates each claim at most once.
-- Parameters: run_id (uuid), run_started (timestamptz), max_claims, lease_seconds, shard,
-- shards, lock_space (int).
WITH candidate_rows AS (
    SELECT c.id, c.member_id
    FROM claims_service.claim AS c
    WHERE (c.status = 'submitted'
           OR (c.status = 'pended' AND coalesce(c.adjudicated_at < %(run_started)s, true))
           OR (c.status = 'in_review' AND c.lease_expires_at < now()))
      AND (%(shards)s = 1 OR mod(abs(hashtext(c.member_id::text)), %(shards)s) = %(shard)s)
    ORDER BY c.member_id
    LIMIT %(max_claims)s
    FOR UPDATE SKIP LOCKED
),
members AS (
    SELECT member_id
    FROM candidate_rows
    GROUP BY member_id
    HAVING pg_try_advisory_xact_lock(%(lock_space)s, hashtext(member_id::text))
),
leased AS (
    UPDATE claims_service.claim AS c
    SET status_before_lease = CASE WHEN c.status = 'in_review' THEN c.status_before_lease
                                   ELSE c.status END,
        status = 'in_review',
        lease_owner = %(run_id)s,
        lease_expires_at = now() + make_interval(secs => %(lease_seconds)s)
    FROM members AS m
    WHERE c.member_id = m.member_id
      AND (c.status = 'submitted'
           OR (c.status = 'pended' AND coalesce(c.adjudicated_at < %(run_started)s, true))
           OR (c.status = 'in_review' AND c.lease_expires_at < now()))
    RETURNING c.id, c.member_id
)
SELECT count(*) AS claims, count(DISTINCT member_id) AS members
FROM leased;

-- name: release_lease
-- Gives the claims of a run's lease back to the queue in the status they had before it
-- (after a failed checkpoint, or an error before the decisions were written).
-- Parameters: run_id.
UPDATE claims_service.claim AS c
SET status = coalesce(c.status_before_lease, 'submitted'),
    status_before_lease = NULL,
    lease_owner = NULL,
    lease_expires_at = NULL
WHERE c.lease_owner = %(run_id)s
  AND c.status = 'in_review';

-- name: adjudication_backlog
-- Claims waiting for adjudication, by status (in_review counts leases, live or expired).
-- Parameters: none.
SELECT c.status, count(*) AS claims
FROM claims_service.claim AS c
WHERE c.status IN ('submitted', 'pended', 'in_review')
GROUP BY c.status;

-- name: queue_clock
-- The claims database's clock at the start of a run (the run_started of lease_claims).
-- Parameters: none.
SELECT clock_timestamp() AS run_started;
