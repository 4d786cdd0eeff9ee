-- name: audit_growth
-- What the audit log gained per business day since `since`, by mode: `row` (row audit,
-- audit.audit_log: one row per changed row, with its content) and `statement` (statement
-- audit of registered batch runs: audit.statement_log, one row per statement and table,
-- and audit.batch_run, one row per registered transaction). Bytes are the rows' own size
-- (pg_column_size: compressed content included, indexes and page overhead not). The two
-- logs are read through their BRIN index on time. A day without writes has no row.
-- Parameters: since (timestamptz), timezone (text, e.g. Asia/Jakarta).
WITH logged AS (
    -- every audit row since `since`: its mode, its time, its size, and whether it is a
    -- registration (audit.batch_run) rather than a log entry
    SELECT 'row' AS mode, a."timestamp" AS at, pg_column_size(a.*) AS bytes, false AS is_run
    FROM audit.audit_log AS a
    WHERE a."timestamp" >= %(since)s
    UNION ALL
    SELECT 'statement', s.logged_at, pg_column_size(s.*), false
    FROM audit.statement_log AS s
    WHERE s.logged_at >= %(since)s
    UNION ALL
    SELECT 'statement', r.registered_at, pg_column_size(r.*), true
    FROM audit.batch_run AS r
    WHERE r.registered_at >= %(since)s
),
by_day AS (
    SELECT (l.at AT TIME ZONE %(timezone)s)::date AS day, l.mode, l.bytes, l.is_run
    FROM logged AS l
)
SELECT d.day,
       d.mode,
       count(*) FILTER (WHERE NOT d.is_run)::bigint AS log_rows,
       sum(d.bytes)::bigint AS log_bytes,
       count(*) FILTER (WHERE d.is_run)::bigint AS runs
FROM by_day AS d
GROUP BY d.day, d.mode
ORDER BY d.day, d.mode;
