-- name: unposted_lines
-- Decided line versions not yet through posting (the posting queue): an approved version is
-- posted, and any version reverses the earlier versions' postings. All of them, or those of
-- the given claims (a chunk posting its own lines, so parallel shards do not contend).
-- Parameters: limit, claim_ids (uuid[] or NULL).
SELECT ci.id::text AS claim_item_id,
       ci.adjudication_version,
       CASE WHEN ci.status = 'approved' THEN 'post' ELSE 'none' END AS entry_type,
       c.member_id::text AS member_id,
       ci.benefit_code,
       ci.benefit_year AS year,
       ci.approved_amount AS amount,
       ci.deductible_amount AS deductible,
       ci.oop_amount AS oop,
       ci.visits,
       ci.covered_days AS days
FROM claims_service.claim_item AS ci
JOIN claims_service.claim AS c ON c.id = ci.claim_id
WHERE ci.posted_at IS NULL
  AND ci.adjudicated_at IS NOT NULL
  AND (%(claim_ids)s::uuid[] IS NULL OR ci.claim_id = ANY(%(claim_ids)s::uuid[]))
ORDER BY ci.id
LIMIT %(limit)s;

-- name: count_unposted_lines
-- How many decided line versions wait for posting. Parameters: none.
SELECT count(*) AS unposted
FROM claims_service.claim_item AS ci
WHERE ci.posted_at IS NULL
  AND ci.adjudicated_at IS NOT NULL;

-- name: mark_lines_posted
-- Marks line versions posted once the ledger holds them; a line decided again meanwhile (a
-- newer version) stays in the queue. Parameters: line_ids (uuid[]), versions (int[]).
WITH posted AS (
    SELECT p.id, p.version
    FROM unnest(%(line_ids)s::uuid[], %(versions)s::int[]) AS p (id, version)
)
UPDATE claims_service.claim_item AS ci
SET posted_at = now(),
    posted_version = ci.adjudication_version
FROM posted AS p
WHERE ci.id = p.id
  AND ci.adjudication_version = p.version
  AND ci.posted_at IS NULL;

-- name: posted_line_totals
-- Per (member, benefit, year), the sums of the approved lines already posted, in cents: what
-- the posting ledger must net to. Lines of the given members, or all when member_ids is NULL.
-- Parameters: member_ids (uuid[] or NULL).
WITH posted AS (
    SELECT c.member_id, ci.benefit_code, ci.benefit_year AS year, ci.approved_amount,
           ci.deductible_amount, ci.oop_amount, ci.visits, ci.covered_days
    FROM claims_service.claim_item AS ci
    JOIN claims_service.claim AS c ON c.id = ci.claim_id
    WHERE ci.status = 'approved'
      AND ci.posted_at IS NOT NULL
      AND (%(member_ids)s::uuid[] IS NULL OR c.member_id = ANY(%(member_ids)s::uuid[]))
)
SELECT member_id::text AS member_id, benefit_code, year,
       (sum(approved_amount) * 100)::bigint AS lines_amount_cents,
       (sum(deductible_amount) * 100)::bigint AS lines_deductible_cents,
       (sum(oop_amount) * 100)::bigint AS lines_oop_cents,
       sum(visits)::bigint AS lines_visits,
       sum(covered_days)::bigint AS lines_days
FROM posted
GROUP BY member_id, benefit_code, year;
