-- name: trail_row_audit
-- Row audit of the given rows of one schema: every logged version, its old and new content,
-- who wrote it (login, application) and when; and the registered batch run of its
-- transaction, if any (a registered run's writes that stay row-audited name their run
-- through the transaction id). Parameters: %(schema_name)s, %(tables)s, %(row_ids)s.
SELECT a.id AS audit_id, a.table_name, a.operation, a.row_id, a.user_name,
       a.application_name, a.transaction_id, a."timestamp" AS at, a.old_data, a.new_data,
       r.flow_run_id::text AS flow_run_id, r.flow_name
FROM audit.audit_log AS a
LEFT JOIN audit.batch_run AS r
       ON r.xact_id = a.transaction_id::text::xid8 AND r.login = a.user_name
WHERE a.schema_name = %(schema_name)s
  AND a.table_name = ANY(%(tables)s::text[])
  AND a.row_id = ANY(%(row_ids)s::text[])
ORDER BY a.id

-- name: trail_statements
-- Statement audit of the given rows of one schema: each registered statement that wrote one
-- of them (uuid ids in row_uuids, integer ids in row_ints), with its run, login and time; one
-- row per (statement, row). Only statements logged since %(since)s are read (the claim's
-- first row-audited write: nothing wrote its rows before; NULL reads them all), through the
-- BRIN index on logged_at. Parameters: %(schema_name)s, %(tables)s, %(uuids)s, %(ints)s,
-- %(since)s.
SELECT s.id AS statement_id, s.table_name, s.operation, ids.row_id, r.login AS user_name,
       r.xact_id::text AS transaction_id, s.logged_at AS at, r.flow_run_id::text AS flow_run_id,
       r.flow_name
FROM audit.statement_log AS s
JOIN audit.batch_run AS r ON r.id = s.batch_run_id
CROSS JOIN LATERAL (
    SELECT u::text FROM unnest(s.row_uuids) AS u WHERE u = ANY(%(uuids)s::uuid[])
    UNION ALL
    SELECT i::text FROM unnest(%(ints)s::bigint[]) AS i WHERE s.row_ints @> i
) AS ids (row_id)
WHERE s.schema_name = %(schema_name)s
  AND s.table_name = ANY(%(tables)s::text[])
  AND s.logged_at >= coalesce(%(since)s::timestamptz, '-infinity')
  AND (s.row_uuids && %(uuids)s::uuid[] OR s.row_ints @> ANY(%(ints)s::bigint[]))
ORDER BY s.id, ids.row_id

-- name: trail_runs
-- The registered batch runs of the given flow runs (versioned records name their flow run
-- only): flow name and the logins that registered. Parameters: %(flow_run_ids)s.
SELECT r.flow_run_id::text AS flow_run_id, min(r.flow_name) AS flow_name,
       string_agg(DISTINCT r.login::text, ', ') AS logins
FROM audit.batch_run AS r
WHERE r.flow_run_id = ANY(%(flow_run_ids)s::uuid[])
GROUP BY r.flow_run_id
