-- name: maintained_tables
-- Tables (ordinary and partitioned) of the given schemas, biggest first (by pg_class, which
-- takes no lock), for ANALYZE/VACUUM. Parameters: %(schemas)s (text[]).
SELECT n.nspname AS schema_name, c.relname AS table_name, c.relkind::text AS kind
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p')
ORDER BY c.relpages DESC, 1, 2

-- name: has_extension
-- Whether an extension is installed in this database. Parameters: %(name)s.
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = %(name)s) AS installed

-- name: bloat_from_statistics
-- Dead-tuple ratio per table from the statistics collector (no extension needed), worst
-- first; sizes from pg_class (no lock taken: a report never waits behind a DDL).
-- Parameters: %(schemas)s (text[]).
WITH stats AS (
    SELECT s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup,
           c.relpages::bigint * current_setting('block_size')::int AS total_bytes,
           s.last_vacuum, s.last_autovacuum
    FROM pg_stat_user_tables AS s
    JOIN pg_class AS c ON c.oid = s.relid
    WHERE s.schemaname = ANY(%(schemas)s)
)
SELECT schemaname AS schema_name, relname AS table_name, total_bytes, n_live_tup AS live_rows,
       n_dead_tup AS dead_rows,
       round(100.0 * n_dead_tup / NULLIF(n_live_tup + n_dead_tup, 0), 2) AS dead_percent,
       greatest(last_vacuum, last_autovacuum) AS last_vacuum
FROM stats
ORDER BY dead_rows DESC, total_bytes DESC
LIMIT 25

-- name: bloat_from_pgstattuple
-- Dead and free space per table measured by pgstattuple_approx (a sampled scan), worst first.
-- Parameters: %(schemas)s (text[]).
WITH tables AS (
    SELECT c.oid, n.nspname, c.relname
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(%(schemas)s) AND c.relkind = 'r'
)
SELECT t.nspname AS schema_name, t.relname AS table_name, s.table_len AS total_bytes,
       s.approx_tuple_count AS live_rows, s.dead_tuple_count AS dead_rows,
       round(s.dead_tuple_percent::numeric, 2) AS dead_percent,
       round(s.approx_free_percent::numeric, 2) AS free_percent
FROM tables AS t
CROSS JOIN LATERAL pgstattuple_approx(t.oid) AS s
ORDER BY s.dead_tuple_len + s.approx_free_space DESC
LIMIT 25

-- name: long_running_queries
-- Statements of this database running longer than the threshold (other sessions).
-- Parameters: %(minutes)s.
SELECT pid, usename AS role, application_name, state,
       round(extract(epoch FROM now() - query_start)::numeric, 1) AS seconds,
       left(query, 200) AS query
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND state NOT IN ('idle') AND query_start < now() - make_interval(secs => %(minutes)s * 60)
ORDER BY query_start

-- name: idle_sessions
-- Client sessions of this database idle (or idle in a transaction) for longer than the
-- threshold. Parameters: %(minutes)s.
SELECT pid, usename AS role, application_name, state,
       round(extract(epoch FROM now() - state_change)::numeric, 1) AS idle_seconds
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
  AND state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)')
  AND state_change < now() - make_interval(secs => %(minutes)s * 60)
ORDER BY state_change

-- name: terminate_sessions
-- Terminates the given sessions if they are still idle (a session that woke up is spared);
-- the candidates are settled first, then terminated. Parameters: %(pids)s (int[]),
-- %(minutes)s.
WITH candidates AS MATERIALIZED (
    SELECT pid
    FROM pg_stat_activity
    WHERE pid = ANY(%(pids)s) AND datname = current_database() AND pid <> pg_backend_pid()
      AND state IN ('idle', 'idle in transaction', 'idle in transaction (aborted)')
      AND state_change < now() - make_interval(secs => %(minutes)s * 60)
)
SELECT pid FROM candidates WHERE pg_terminate_backend(pid)

-- name: lock_waits
-- Sessions of this database waiting on a lock, with the sessions blocking them.
-- No parameters.
SELECT a.pid, a.usename AS role, pg_blocking_pids(a.pid) AS blocked_by,
       a.wait_event_type, a.wait_event,
       round(extract(epoch FROM now() - a.query_start)::numeric, 1) AS seconds,
       left(a.query, 200) AS query
FROM pg_stat_activity AS a
WHERE a.datname = current_database() AND cardinality(pg_blocking_pids(a.pid)) > 0
ORDER BY a.query_start
