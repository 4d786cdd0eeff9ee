-- name: database_size
-- Size of this database in bytes, the server's connections and its max_connections. The
-- connections are counted as common.health_check()'s connection_count counts them (every
-- backend of the server, since max_connections is the server's), so that both agree.
-- No parameters.
SELECT pg_database_size(current_database()) AS bytes,
       (SELECT count(*) FROM pg_stat_activity)::int AS connections,
       current_setting('max_connections')::int AS max_connections

-- name: table_sizes
-- The biggest tables of our schemas (with indexes and TOAST), from pg_class so that no lock
-- is taken (as of the last VACUUM/ANALYZE). Parameters: %(schemas)s, %(limit)s.
WITH sizes AS (
    SELECT c.oid, c.relpages::bigint * current_setting('block_size')::int AS table_bytes,
           (SELECT coalesce(sum(i.relpages), 0) FROM pg_index AS x
            JOIN pg_class AS i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid)::bigint
               * current_setting('block_size')::int AS index_bytes,
           coalesce((SELECT t.relpages FROM pg_class AS t WHERE t.oid = c.reltoastrelid), 0)::bigint
               * current_setting('block_size')::int AS toast_bytes
    FROM pg_class AS c
    WHERE c.relkind = 'r'
)
SELECT n.nspname AS schema_name, c.relname AS table_name,
       s.table_bytes + s.index_bytes + s.toast_bytes AS total_bytes,
       s.table_bytes,
       c.reltuples::bigint AS estimated_rows
FROM pg_class AS c
JOIN sizes AS s ON s.oid = c.oid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%(schemas)s)
ORDER BY total_bytes DESC
LIMIT %(limit)s

-- name: slow_statements
-- Statements of this database whose mean time exceeds the threshold, slowest first
-- (pg_stat_statements). Parameters: %(slow_ms)s.
SELECT round(s.mean_exec_time::numeric, 1) AS mean_ms, s.calls,
       round(s.total_exec_time::numeric, 1) AS total_ms, left(s.query, 200) AS query
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.mean_exec_time > %(slow_ms)s
ORDER BY s.mean_exec_time DESC
LIMIT 10

-- name: health_check
-- common.health_check() with the operations' inputs. Parameters: %(newest_backup)s
-- (timestamptz; '-infinity' when there is no verified backup), %(backup_max_age)s,
-- %(min_runway_months)s, %(archive_older_than)s (intervals as text), %(today)s.
SELECT check_name, status, details
FROM common.health_check(%(newest_backup)s::timestamptz, %(backup_max_age)s::interval,
                         %(min_runway_months)s, %(archive_older_than)s::interval, %(today)s)

-- name: archive_status
-- WAL archiving as the server sees it (pg_stat_archiver) and its archive_mode; the WAL
-- segments waiting to be archived are counted apart (archive_ready), as reading pg_wal
-- needs pg_monitor. No parameters.
SELECT current_setting('archive_mode') AS archive_mode,
       s.archived_count, s.last_archived_wal, s.last_archived_time,
       s.failed_count, s.last_failed_wal, s.last_failed_time
FROM pg_stat_archiver AS s

-- name: archive_ready
-- WAL segments finished but not archived yet (.ready files). Needs pg_monitor or
-- superuser. No parameters.
SELECT count(*)::int AS ready
FROM pg_ls_archive_statusdir() AS f
WHERE right(f.name, 6) = '.ready'

-- name: stream_status
-- WAL streaming as the server sees it: the replication slot of pg_receivewal, its receiver
-- (pg_stat_replication, joined by the slot's active pid), how far the receiver has flushed
-- behind the server's WAL, and how much WAL the slot makes the server keep. No row: the
-- slot does not exist (streaming is not set up). Needs pg_monitor or superuser for the
-- receiver's positions. Parameters: %(slot)s.
WITH slot AS (
    SELECT s.slot_name, s.active, s.active_pid, s.restart_lsn,
           coalesce(s.wal_status, 'reserved') AS wal_status
    FROM pg_replication_slots AS s
    WHERE s.slot_name = %(slot)s
)
SELECT slot.active, slot.wal_status,
       pg_wal_lsn_diff(pg_current_wal_lsn(), slot.restart_lsn)::bigint AS retained_bytes,
       r.flush_lsn::text AS flush_lsn,
       pg_wal_lsn_diff(pg_current_wal_lsn(), r.flush_lsn)::bigint AS lag_bytes,
       r.reply_time
FROM slot
LEFT JOIN pg_stat_replication AS r ON r.pid = slot.active_pid
