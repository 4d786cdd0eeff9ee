-- name: archived_checksum
-- Count and checksum of the batch's rows now in archive.{table} ({key}: the column holding
-- the id staged in {staged}.{staged_key}; {columns}: the archived columns qualified by t),
-- to compare with the source's. No parameters.
SELECT count(*) AS rows,
       coalesce(sum(hashtextextended(ROW({columns})::text, 0)), 0)::text AS checksum
FROM archive.{table} AS t
WHERE t.{key} IN (SELECT b.{staged_key} FROM {staged} AS b)

-- name: batch_conflicts
-- Claims of the batch already in the archive, by id or claim number: archiving them again
-- would be a conflict, so the run stops with nothing moved. No parameters.
SELECT a.claim_number
FROM archive.claim AS a
WHERE a.id IN (SELECT b.claim_id FROM archive_batch AS b)
   OR a.claim_number IN (SELECT b.claim_number FROM archive_batch AS b)
ORDER BY a.claim_number
LIMIT 10

-- name: log_batch
-- One row of the run log: what a batch (or a partition move) read before and found after.
-- Parameters: %(run_id)s, %(batch_number)s, %(table_name)s, %(method)s, %(outcome)s,
-- %(cutoff)s, %(source_rows)s, %(source_checksum)s, %(archived_rows)s,
-- %(archived_checksum)s, %(detail)s.
INSERT INTO archive.archive_run_log (run_id, batch_number, table_name, method, outcome, cutoff,
    source_rows, source_checksum, archived_rows, archived_checksum, detail)
VALUES (%(run_id)s, %(batch_number)s, %(table_name)s, %(method)s, %(outcome)s, %(cutoff)s,
    %(source_rows)s, %(source_checksum)s, %(archived_rows)s, %(archived_checksum)s, %(detail)s)

-- name: archive_table_exists
-- Whether archive already has a table of this name (a partition name conflict).
-- Parameters: %(table)s.
SELECT EXISTS (
    SELECT 1 FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'archive' AND c.relname = %(table)s
) AS taken

-- name: attach_partition
-- Attaches a moved month to archive.claim_partitioned ({partition}, {lower}, {upper}
-- composed by psycopg).
ALTER TABLE archive.claim_partitioned ATTACH PARTITION archive.{partition}
    FOR VALUES FROM ({lower}) TO ({upper})

-- name: archive_partition_privileges
-- The archive is insert-only for the claims service: a moved partition keeps no UPDATE or
-- DELETE right. ({partition} composed by psycopg.)
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON archive.{partition} FROM claims_service_user;
GRANT SELECT, INSERT ON archive.{partition} TO claims_service_user;
GRANT SELECT ON archive.{partition} TO reporting_user

-- name: partition_checksum
-- Count and checksum of a whole partition {schema}.{partition} over {columns}.
SELECT count(*) AS rows,
       coalesce(sum(hashtextextended(ROW({columns})::text, 0)), 0)::text AS checksum
FROM {schema}.{partition}

-- name: run_log
-- The run log of one archiving run, in order. Parameters: %(run_id)s.
SELECT batch_number, table_name, method, outcome, cutoff, source_rows, source_checksum,
       archived_rows, archived_checksum, detail, logged_at
FROM archive.archive_run_log
WHERE run_id = %(run_id)s
ORDER BY batch_number, table_name
