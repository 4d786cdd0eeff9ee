-- name: unposted_lines
-- Decided line versions not yet through posting (the posting queue, posting_outbox): an
-- approved version is posted, and any version reverses the earlier versions' postings. All
-- of them, or those of the given claims (a chunk posting its own lines, so parallel shards
-- do not contend). Read with COPY ... TO STDOUT (CSV, a header row; amounts as their exact
-- decimal text), which goes to the benefit service's posting_input as it is: the columns
-- are posting_input's, by name and in order. Parameters: limit, claim_ids (uuid[] or NULL).
WITH queue AS (
    SELECT o.claim_item_id, o.adjudication_version
    FROM claims_service.posting_outbox AS o
    WHERE %(claim_ids)s::uuid[] IS NULL
       OR o.claim_item_id IN (SELECT ci.id FROM claims_service.claim_item AS ci
                              WHERE ci.claim_id = ANY(%(claim_ids)s::uuid[]))
    ORDER BY o.claim_item_id
    LIMIT %(limit)s
)
SELECT ci.id AS claim_item_id,
       ci.adjudication_version,
       CASE WHEN ci.status = 'approved' THEN 'post' ELSE 'none' END AS entry_type,
       c.member_id,
       ci.benefit_code,
       ci.benefit_year AS year,
       ci.approved_amount AS amount,
       ci.deductible_amount AS deductible,
       ci.oop_amount AS oop,
       ci.visits,
       ci.covered_days AS days
FROM queue AS q
JOIN claims_service.claim_item AS ci
  ON ci.id = q.claim_item_id AND ci.adjudication_version = q.adjudication_version
JOIN claims_service.claim AS c ON c.id = ci.claim_id
ORDER BY ci.id;

-- name: count_unposted_lines
-- How many decided line versions wait for posting. Parameters: none.
SELECT count(*) AS unposted
FROM claims_service.posting_outbox AS o;

-- name: create_posted_table
-- Session-local staging table of the line versions the ledger now holds, filled with COPY.
-- Parameters: none.
CREATE TEMPORARY TABLE posted_line (
    claim_item_id        UUID NOT NULL,
    adjudication_version INTEGER NOT NULL
) ON COMMIT DROP;

-- name: mark_lines_posted
-- Takes the line versions in posted_line out of the posting queue once the ledger holds
-- them; a line decided again meanwhile (a newer version in its outbox row) stays queued.
-- The claims service may not delete outbox rows itself (claims_service 0010): the function
-- deletes them, only decided line versions it is given, and records the call. One row per
-- line version taken out. Parameters: none.
SELECT m.released_claim_item_id
FROM (SELECT array_agg(p.claim_item_id ORDER BY p.claim_item_id, p.adjudication_version)
                 AS claim_item_ids,
             array_agg(p.adjudication_version ORDER BY p.claim_item_id, p.adjudication_version)
                 AS versions
      FROM posted_line AS p) AS batch,
     claims_service.mark_lines_posted(batch.claim_item_ids, batch.versions) AS m;

-- name: posted_line_totals
-- Per (member, benefit, year), the sums of the approved lines already posted (decided, not
-- in the posting queue), in cents: what the posting ledger must net to. Archived lines
-- count too: archiving moves only posted lines of settled claims, and the ledger keeps their
-- entries, so without them a member with archived claims never reconciles. Lines of the
-- given members, or all when member_ids is NULL.
-- Parameters: member_ids (uuid[] or NULL).
WITH live AS (
    SELECT c.member_id, ci.benefit_code, ci.benefit_year AS year, ci.approved_amount,
           ci.deductible_amount, ci.oop_amount, ci.visits, ci.covered_days
    FROM claims_service.claim_item AS ci
    JOIN claims_service.claim AS c ON c.id = ci.claim_id
    WHERE ci.status = 'approved'
      AND ci.adjudicated_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM claims_service.posting_outbox AS o
                      WHERE o.claim_item_id = ci.id)
      AND (%(member_ids)s::uuid[] IS NULL OR c.member_id = ANY(%(member_ids)s::uuid[]))
),
archived AS (
    SELECT c.member_id, ci.benefit_code, ci.benefit_year AS year, ci.approved_amount,
           ci.deductible_amount, ci.oop_amount, ci.visits, ci.covered_days
    FROM archive.claim_item AS ci
    JOIN archive.claim AS c ON c.id = ci.claim_id
    WHERE ci.status = 'approved'
      AND ci.adjudicated_at IS NOT NULL
      AND (%(member_ids)s::uuid[] IS NULL OR c.member_id = ANY(%(member_ids)s::uuid[]))
),
posted AS (
    SELECT * FROM live
    UNION ALL
    SELECT * FROM archived
)
SELECT member_id::text AS member_id, benefit_code, year,
       (sum(approved_amount) * 100)::bigint AS lines_amount_cents,
       (sum(deductible_amount) * 100)::bigint AS lines_deductible_cents,
       (sum(oop_amount) * 100)::bigint AS lines_oop_cents,
       sum(visits)::bigint AS lines_visits,
       sum(covered_days)::bigint AS lines_days
FROM posted
GROUP BY member_id, benefit_code, year;
