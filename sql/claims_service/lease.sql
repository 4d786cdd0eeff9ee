-- name: lease_claims
-- Leases the adjudicable claims of whole members for one run: submitted claims, in_review
-- claims whose lease expired, and the pended claims the run found due (pended_due: the
-- flow decides which, from what changed in the services a pend waits for, overrides and
-- the review age; every other pended claim is left alone, never leased). Sets status
-- in_review, lease_owner = the run, lease_expires_at.
-- Rows locked by another run are skipped (FOR UPDATE SKIP LOCKED); a member whose rows two
-- runs both picked goes to the one that wins its advisory lock, so a member's claims never
-- split across chunks. A member with a live lease of another run, or with decided lines
-- still waiting in posting_outbox, is not leased at all: its accumulators are not settled.
-- A chunk may exceed max_claims by the rest of its last member.
-- A claim pended at or after run_started (by this run or one started with it) waits for
-- the next run: a run adjudicates each claim at most once.
-- Parameters: run_id (uuid), run_started (timestamptz), max_claims, lease_seconds, shard,
-- shards, lock_space (int), pended_due (uuid[], may be empty).
WITH due AS (
    SELECT DISTINCT d.id
    FROM unnest(%(pended_due)s::uuid[]) AS d (id)
),
candidate_rows AS (
    SELECT c.id, c.member_id
    FROM claims_service.claim AS c
    WHERE (c.status = 'submitted'
           OR (c.status = 'pended' AND coalesce(c.adjudicated_at < %(run_started)s, true)
               AND c.id IN (SELECT id FROM due))
           OR (c.status = 'in_review' AND c.lease_expires_at < now()))
      AND (%(shards)s = 1 OR mod(abs(hashtext(c.member_id::text)), %(shards)s) = %(shard)s)
    ORDER BY c.member_id
    LIMIT %(max_claims)s
    FOR UPDATE SKIP LOCKED
),
members AS (
    -- A member whose accumulators are not settled (claims_service.unsettled_members: another
    -- run holds it, or its decided lines wait for posting) waits for that run: a claim that
    -- arrived meanwhile would be decided without the other run's amounts, and could pay
    -- beyond a limit.
    SELECT r.member_id
    FROM candidate_rows AS r
    GROUP BY r.member_id
    HAVING r.member_id NOT IN (SELECT u.member_id
                               FROM claims_service.unsettled_members(%(run_id)s) AS u)
       AND pg_try_advisory_xact_lock(%(lock_space)s, hashtext(r.member_id::text))
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
           OR (c.status = 'pended' AND coalesce(c.adjudicated_at < %(run_started)s, true)
               AND c.id IN (SELECT id FROM due))
           OR (c.status = 'in_review' AND c.lease_expires_at < now()))
    RETURNING c.id, c.member_id
)
SELECT count(*) AS claims, count(DISTINCT member_id) AS members
FROM leased;

-- name: give_back_contested_members
-- Run in the lease's transaction, after lease_claims, with a fresh snapshot: gives back
-- the claims of members that another run leased, or left unposted, in a transaction that
-- committed between lease_claims's snapshot and its advisory locks (lease_claims's own
-- checks cannot see those). The advisory locks this transaction holds keep every other
-- run from leasing these members until it commits, so after this statement the lease is
-- sound. Returns what the run holds afterwards. Parameters: run_id.
WITH mine AS (
    SELECT c.id, c.member_id
    FROM claims_service.claim AS c
    WHERE c.lease_owner = %(run_id)s
      AND c.status = 'in_review'
),
contested AS (
    SELECT DISTINCT m.member_id
    FROM mine AS m
    WHERE m.member_id IN (SELECT u.member_id
                          FROM claims_service.unsettled_members(%(run_id)s) AS u)
),
given_back AS (
    UPDATE claims_service.claim AS c
    SET status = coalesce(c.status_before_lease, 'submitted'),
        status_before_lease = NULL,
        lease_owner = NULL,
        lease_expires_at = NULL
    FROM contested AS x
    WHERE c.member_id = x.member_id
      AND c.lease_owner = %(run_id)s
      AND c.status = 'in_review'
    RETURNING c.id
)
SELECT count(*) AS claims, count(DISTINCT m.member_id) AS members
FROM mine AS m
WHERE m.id NOT IN (SELECT g.id FROM given_back AS g);

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

-- name: pended_claims
-- The pended claims a run may take again, with what it needs to decide which are due: when
-- each was last adjudicated, and when a reviewer last decided one of its lines (an override
-- recorded since the claim's adjudication is one it has not seen). Claims pended at or
-- after run_started are this run's own (or a run's started with it): not listed.
-- Parameters: run_started (timestamptz).
WITH pended AS (
    SELECT c.id, c.claim_number, c.member_id, c.adjudicated_at
    FROM claims_service.claim AS c
    WHERE c.status = 'pended'
      AND coalesce(c.adjudicated_at < %(run_started)s, true)
),
overridden AS (
    SELECT ci.claim_id, max(o.overridden_at) AS overridden_at
    FROM claims_service.claim_item_override AS o
    JOIN claims_service.claim_item AS ci ON ci.id = o.claim_item_id
    JOIN pended AS p ON p.id = ci.claim_id
    GROUP BY ci.claim_id
)
SELECT p.id::text AS claim_id,
       p.claim_number,
       p.member_id::text AS member_id,
       p.adjudicated_at,
       ov.overridden_at
FROM pended AS p
LEFT JOIN overridden AS ov ON ov.claim_id = p.id
ORDER BY p.member_id, p.claim_number;

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
