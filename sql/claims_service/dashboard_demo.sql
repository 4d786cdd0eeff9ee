-- name: demo_decided_since
-- The demo's claims decided by adjudication runs since `since` (the main job's start), in
-- claim number order, with when they were submitted and decided (pended ones keep theirs).
-- Parameters: since (timestamptz).
SELECT c.id, c.claim_number, c.submission_date, c.adjudicated_at
FROM claims_service.claim AS c
WHERE c.adjudicated_at >= %(since)s
  AND c.status IN ('approved', 'partially_approved', 'rejected')
ORDER BY c.claim_number;

-- name: demo_set_decision_times
-- The demo only: gives the given claims, and their decided lines, the moment they were
-- decided (`decided_at`, one per claim), as if earlier adjudication runs had decided them.
-- Returns the number of claims changed.
-- Parameters: ids (uuid[]), decided_at (timestamptz[]).
WITH moments AS (
    SELECT m.id, m.decided_at
    FROM unnest(%(ids)s::uuid[], %(decided_at)s::timestamptz[]) AS m (id, decided_at)
),
lines AS (
    UPDATE claims_service.claim_item AS ci
    SET adjudicated_at = m.decided_at
    FROM moments AS m
    WHERE ci.claim_id = m.id
      AND ci.adjudicated_at IS NOT NULL
    RETURNING ci.claim_id
),
claims AS (
    UPDATE claims_service.claim AS c
    SET adjudicated_at = m.decided_at
    FROM moments AS m
    WHERE c.id = m.id
    RETURNING c.id
)
SELECT count(*) FROM claims;
