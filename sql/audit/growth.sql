-- name: audit_growth
-- What the audit log gained per business day since `since`, by mode: `row` (row audit,
-- audit.audit_log: one row per changed row, with its content) and `statement` (statement
-- audit of registered batch runs: audit.statement_log, one row per statement and table,
-- and audit.batch_run, one row per registered transaction). Bytes are the rows' own size
-- (pg_column_size: compressed content included, indexes and page overhead not). Both
-- scans use the BRIN index on the log's time. A day without writes has no row.
-- Parameters: since (timestamptz), timezone (text, e.g. Asia/Jakarta).
WITH row_audit AS (
    SELECT (a."timestamp" AT TIME ZONE %(timezone)s)::date AS day,
           count(*) AS log_rows,
           sum(pg_column_size(a.*)) AS log_bytes
    FROM audit.audit_log AS a
    WHERE a."timestamp" >= %(since)s
    GROUP BY 1
),
statement_audit AS (
    SELECT (s.logged_at AT TIME ZONE %(timezone)s)::date AS day,
           count(*) AS log_rows,
           sum(pg_column_size(s.*)) AS log_bytes
    FROM audit.statement_log AS s
    WHERE s.logged_at >= %(since)s
    GROUP BY 1
),
registrations AS (
    SELECT (r.registered_at AT TIME ZONE %(timezone)s)::date AS day,
           count(*) AS log_rows,
           sum(pg_column_size(r.*)) AS log_bytes
    FROM audit.batch_run AS r
    WHERE r.registered_at >= %(since)s
    GROUP BY 1
),
by_mode AS (
    SELECT day, 'row' AS mode, log_rows, log_bytes, 0::bigint AS runs
    FROM row_audit
    UNION ALL
    SELECT coalesce(s.day, r.day), 'statement',
           coalesce(s.log_rows, 0), coalesce(s.log_bytes, 0) + coalesce(r.log_bytes, 0),
           coalesce(r.log_rows, 0)
    FROM statement_audit AS s
    FULL JOIN registrations AS r ON r.day = s.day
)
SELECT day, mode, log_rows::bigint AS log_rows, log_bytes::bigint AS log_bytes,
       runs::bigint AS runs
FROM by_mode
ORDER BY day, mode;
