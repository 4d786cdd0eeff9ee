-- name: trail_claim
-- The claim a trail is asked for, by its number, wherever it is now: claims_service, or the
-- archive once archived (with the run that moved it). No row when there is no such claim.
-- Parameters: %(claim_number)s.
WITH found AS (
    SELECT c.id, to_jsonb(c) AS content, false AS archived, NULL::timestamptz AS archived_at,
           NULL::uuid AS archive_run_id
    FROM claims_service.claim AS c
    WHERE c.claim_number = %(claim_number)s
    UNION ALL
    SELECT a.id, to_jsonb(a) - 'archived_at' - 'archive_run_id', true, a.archived_at,
           a.archive_run_id
    FROM archive.claim AS a
    WHERE a.claim_number = %(claim_number)s
)
SELECT found.id::text AS claim_id, found.content, found.archived, found.archived_at,
       found.archive_run_id::text AS archive_run_id
FROM found
ORDER BY found.archived
LIMIT 1

-- name: trail_rows
-- The newest content of every row of one claim in the tables its trail shows (the claim, its
-- lines, status history, notes, payments, readjustments, the lines' overrides), live or
-- archived; each archived row without its archive columns, which are given beside it.
-- Parameters: %(claim_id)s.
WITH lines AS (
    SELECT i.id FROM claims_service.claim_item AS i WHERE i.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT a.id FROM archive.claim_item AS a WHERE a.claim_id = %(claim_id)s::uuid
),
live AS (
    SELECT 'claim' AS table_name, c.id::text AS row_id, to_jsonb(c) AS content
    FROM claims_service.claim AS c WHERE c.id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_item', t.id::text, to_jsonb(t)
    FROM claims_service.claim_item AS t WHERE t.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_status_history', t.id::text, to_jsonb(t)
    FROM claims_service.claim_status_history AS t WHERE t.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_note', t.id::text, to_jsonb(t)
    FROM claims_service.claim_note AS t WHERE t.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_payment', t.id::text, to_jsonb(t)
    FROM claims_service.claim_payment AS t WHERE t.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_readjustment', t.id::text, to_jsonb(t)
    FROM claims_service.claim_readjustment AS t WHERE t.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_item_override', t.id::text, to_jsonb(t)
    FROM claims_service.claim_item_override AS t WHERE t.claim_item_id IN (SELECT id FROM lines)
),
archived AS (
    SELECT 'claim' AS table_name, a.id::text AS row_id, to_jsonb(a) AS content
    FROM archive.claim AS a WHERE a.id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_item', a.id::text, to_jsonb(a) - 'posted_at' - 'posted_version'
    FROM archive.claim_item AS a WHERE a.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_status_history', a.id::text, to_jsonb(a)
    FROM archive.claim_status_history AS a WHERE a.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_note', a.id::text, to_jsonb(a)
    FROM archive.claim_note AS a WHERE a.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_payment', a.id::text, to_jsonb(a)
    FROM archive.claim_payment AS a WHERE a.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_readjustment', a.id::text, to_jsonb(a)
    FROM archive.claim_readjustment AS a WHERE a.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT 'claim_item_override', a.id::text, to_jsonb(a)
    FROM archive.claim_item_override AS a WHERE a.claim_item_id IN (SELECT id FROM lines)
)
SELECT live.table_name, live.row_id, live.content, false AS archived,
       NULL::timestamptz AS archived_at, NULL::text AS archive_run_id
FROM live
UNION ALL
SELECT archived.table_name, archived.row_id,
       archived.content - 'archived_at' - 'archive_run_id', true,
       (archived.content ->> 'archived_at')::timestamptz, archived.content ->> 'archive_run_id'
FROM archived

-- name: trail_decisions
-- Every recorded version of the claim's lines (claim_item_decision: the version a later
-- decision replaced, whole), live or archived. Parameters: %(claim_id)s.
WITH lines AS (
    SELECT i.id FROM claims_service.claim_item AS i WHERE i.claim_id = %(claim_id)s::uuid
    UNION ALL
    SELECT a.id FROM archive.claim_item AS a WHERE a.claim_id = %(claim_id)s::uuid
),
decisions AS (
    SELECT to_jsonb(d) AS content
    FROM claims_service.claim_item_decision AS d WHERE d.claim_item_id IN (SELECT id FROM lines)
    UNION ALL
    SELECT to_jsonb(a) - 'archived_at' - 'archive_run_id'
    FROM archive.claim_item_decision AS a WHERE a.claim_item_id IN (SELECT id FROM lines)
)
SELECT decisions.content ->> 'claim_item_id' AS claim_item_id,
       (decisions.content ->> 'adjudication_version')::int AS adjudication_version,
       decisions.content
FROM decisions
