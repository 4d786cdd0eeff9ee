-- name: stream_slot
-- The physical replication slot WAL is streamed through (pg_receivewal): its type, whether
-- a receiver holds it, and whether the server still has the WAL it reserves ('lost': it
-- went past max_slot_wal_keep_size). No row: no slot yet. Parameters: %(slot)s.
SELECT s.slot_type, s.active, coalesce(s.wal_status, 'reserved') AS wal_status
FROM pg_replication_slots AS s
WHERE s.slot_name = %(slot)s

-- name: create_stream_slot
-- Create the physical replication slot, reserving WAL from now on (so the server keeps
-- every segment the receiver has not flushed yet). Fails if it exists (the caller looks
-- first and takes a duplicate as success). Parameters: %(slot)s.
SELECT s.slot_name, s.lsn::text AS reserved_from
FROM pg_create_physical_replication_slot(%(slot)s, true) AS s

-- name: drop_stream_slot
-- Drop the replication slot (one whose WAL is lost, before making it again; or when
-- streaming is given up, so the server no longer keeps WAL for it). Parameters: %(slot)s.
SELECT pg_drop_replication_slot(s.slot_name)
FROM pg_replication_slots AS s
WHERE s.slot_name = %(slot)s

-- name: stream_flushed
-- Whether the receiver of the slot has flushed the WAL up to a position (to wait for it
-- before a test's or a benchmark's kill). Parameters: %(slot)s, %(lsn)s.
SELECT coalesce(bool_or(r.flush_lsn >= %(lsn)s::pg_lsn), false) AS flushed
FROM pg_replication_slots AS s
JOIN pg_stat_replication AS r ON r.pid = s.active_pid
WHERE s.slot_name = %(slot)s
