-- name: table_columns
-- The columns of one table with their types, in order; used to build explicit column lists
-- and to refuse archiving when the archive lacks a column (nothing may be silently dropped).
-- The archive is owned by the claims service. Parameters: %(schema)s, %(table)s.
SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS data_type
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = %(table)s
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum

-- name: create_batch_table
-- The claims of the current batch, emptied at every commit. No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS archive_batch (
    claim_id     UUID PRIMARY KEY,
    claim_number VARCHAR(50) NOT NULL
) ON COMMIT DELETE ROWS

-- name: create_batch_item_table
-- The lines of the current batch's claims, emptied at every commit: the key of the tables
-- hanging off claim_item (decisions, overrides). No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS archive_batch_item (
    claim_item_id UUID PRIMARY KEY
) ON COMMIT DELETE ROWS

-- name: stage_batch_items
-- Stages the lines of the staged claims. No parameters.
INSERT INTO archive_batch_item (claim_item_id)
SELECT i.id
FROM claims_service.claim_item AS i
WHERE i.claim_id IN (SELECT b.claim_id FROM archive_batch AS b)

-- name: select_batch
-- Locks and stages the next batch of settled claims whose service date is before the
-- cutoff: a final status, no line version waiting for posting (in posting_outbox: an approved
-- line for the accumulators, or any line whose earlier posting waits for its reversal), no
-- payment pending or scheduled, no readjustment open (its money still waits for follow-up).
-- Claims locked by another session (e.g. being adjudicated) are skipped. These conditions
-- are also common.health_check()'s archive_backlog (common 0003): keep them in step.
-- Parameters: %(cutoff)s, %(batch_size)s.
INSERT INTO archive_batch (claim_id, claim_number)
SELECT c.id, c.claim_number
FROM claims_service.claim AS c
WHERE c.service_date < %(cutoff)s
  AND c.status IN ('approved', 'partially_approved', 'rejected', 'paid', 'cancelled')
  AND NOT EXISTS (SELECT 1 FROM claims_service.claim_item AS i
                  JOIN claims_service.posting_outbox AS o ON o.claim_item_id = i.id
                  WHERE i.claim_id = c.id)
  AND NOT EXISTS (SELECT 1 FROM claims_service.claim_payment AS p
                  WHERE p.claim_id = c.id AND p.status IN ('pending', 'scheduled'))
  AND NOT EXISTS (SELECT 1 FROM claims_service.claim_readjustment AS r
                  WHERE r.claim_id = c.id AND r.status = 'open')
ORDER BY c.service_date, c.id
LIMIT %(batch_size)s
FOR UPDATE OF c SKIP LOCKED

-- name: count_held_back
-- Claims before the cutoff that are not settled yet (kept in claims_service for now).
-- Parameters: %(cutoff)s.
WITH old AS (
    SELECT c.id, c.status
    FROM claims_service.claim AS c
    WHERE c.service_date < %(cutoff)s
)
SELECT count(*) AS held_back
FROM old
WHERE old.status NOT IN ('approved', 'partially_approved', 'rejected', 'paid', 'cancelled')
   OR EXISTS (SELECT 1 FROM claims_service.claim_item AS i
              JOIN claims_service.posting_outbox AS o ON o.claim_item_id = i.id
              WHERE i.claim_id = old.id)
   OR EXISTS (SELECT 1 FROM claims_service.claim_payment AS p
              WHERE p.claim_id = old.id AND p.status IN ('pending', 'scheduled'))
   OR EXISTS (SELECT 1 FROM claims_service.claim_readjustment AS r
              WHERE r.claim_id = old.id AND r.status = 'open')

-- name: source_checksum
-- Count and checksum of the batch's rows in claims_service.{table}, whose {key} column
-- holds the id staged in {staged}.{staged_key} (a claim's or a line's). {columns}: the
-- archived columns, qualified by t. No parameters.
SELECT count(*) AS rows,
       coalesce(sum(hashtextextended(ROW({columns})::text, 0)), 0)::text AS checksum
FROM claims_service.{table} AS t
WHERE t.{key} IN (SELECT b.{staged_key} FROM {staged} AS b)

-- name: move_rows
-- Moves the batch's rows of claims_service.{table} into archive.{table}: DELETE ...
-- RETURNING into INSERT, one statement. {columns}: the archived columns. Parameters:
-- %(run_id)s (recorded on every archived row).
WITH moved AS (
    DELETE FROM claims_service.{table} AS t
    WHERE t.{key} IN (SELECT b.claim_id FROM archive_batch AS b)
    RETURNING {columns}
)
INSERT INTO archive.{table} ({columns}, archive_run_id)
SELECT {columns}, %(run_id)s FROM moved

-- name: move_records
-- Moves the batch's rows of a record table the service may not delete itself
-- (claim_item_decision, claim_item_override, claim_readjustment, claim_status_history,
-- claim_note) through the owner's
-- archive_claim_records, which refuses unsettled claims. Parameters: %(table)s, %(run_id)s.
WITH batch AS (
    SELECT array_agg(b.claim_id) AS claim_ids FROM archive_batch AS b
)
SELECT claims_service.archive_claim_records(%(table)s, batch.claim_ids, %(run_id)s) AS moved
FROM batch

-- name: count_before_cutoff
-- Claims whose service date is before the cutoff (settled or not), for progress.
-- Parameters: %(cutoff)s.
SELECT count(*) AS claims
FROM claims_service.claim AS c
WHERE c.service_date < %(cutoff)s

-- name: oldest_service_date
-- The earliest service date of the claims, here or already archived (NULL when there are
-- none): the main job fits its archiving age to data younger than the retention period, and
-- what it archived keeps that age where it was. No parameters.
SELECT least((SELECT min(c.service_date) FROM claims_service.claim AS c),
             (SELECT min(a.service_date) FROM archive.claim AS a)) AS oldest
