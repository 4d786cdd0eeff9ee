-- name: list_partitions
-- The partitions of claims_service.claim_partitioned, oldest first, with their range bounds
-- (NULL for the default partition) and schema. No parameters.
WITH parts AS (
    SELECT n.nspname AS schema_name, c.relname AS name,
           pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE i.inhparent = 'claims_service.claim_partitioned'::regclass
)
SELECT schema_name, name, bound = 'DEFAULT' AS is_default,
       substring(bound FROM 'FROM \(''([^'']+)''\)')::date AS lower_bound,
       substring(bound FROM 'TO \(''([^'']+)''\)')::date AS upper_bound
FROM parts
ORDER BY lower_bound NULLS LAST, name

-- name: parent_columns
-- The columns of claims_service.claim_partitioned in their order (for explicit column lists).
-- No parameters.
SELECT a.attname AS column_name
FROM pg_attribute AS a
WHERE a.attrelid = 'claims_service.claim_partitioned'::regclass
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum

-- name: parent_grants
-- The privileges granted on claims_service.claim_partitioned to roles other than its owner:
-- a new partition gets the same, so direct reads of a partition behave like the parent's.
-- No parameters.
WITH acl AS (
    SELECT c.relowner, (aclexplode(c.relacl)).*
    FROM pg_class AS c
    WHERE c.oid = 'claims_service.claim_partitioned'::regclass
)
SELECT r.rolname AS grantee, array_agg(acl.privilege_type ORDER BY acl.privilege_type) AS privileges
FROM acl
JOIN pg_roles AS r ON r.oid = acl.grantee
WHERE acl.grantee <> acl.relowner
GROUP BY r.rolname
ORDER BY r.rolname

-- name: partition_is_empty
-- Whether a partition has no row; {partition} is an identifier from list_partitions.
SELECT NOT EXISTS (SELECT 1 FROM claims_service.{partition}) AS empty

-- name: default_rows_by_month
-- Rows of the default partition per month of service date; {partition} is its identifier.
SELECT date_trunc('month', service_date)::date AS month, count(*) AS rows
FROM claims_service.{partition}
GROUP BY 1
ORDER BY 1

-- name: create_partition
-- Creates the monthly partition {partition} for [{lower}, {upper}): it gets the parent's
-- indexes, keys and constraints (the template). Identifier and literals composed by psycopg.
CREATE TABLE claims_service.{partition} PARTITION OF claims_service.claim_partitioned
    FOR VALUES FROM ({lower}) TO ({upper})

-- name: create_default_partition
-- Creates the default partition of claims_service.claim_partitioned (rows outside every month).
CREATE TABLE claims_service.claim_partitioned_default
    PARTITION OF claims_service.claim_partitioned DEFAULT

-- name: grant_on_partition
-- Grants {privileges} on a new partition to {grantee}, as on the parent.
GRANT {privileges} ON claims_service.{partition} TO {grantee}

-- name: stage_default_rows
-- Takes the default partition's rows of one month out into the temporary table
-- moving_default_rows (dropped at commit). {partition}: the default partition; {columns}: the
-- parent's columns. Parameters: %(lower)s, %(upper)s (the month's bounds).
CREATE TEMPORARY TABLE moving_default_rows ON COMMIT DROP AS
WITH moved AS (
    DELETE FROM claims_service.{partition}
    WHERE service_date >= %(lower)s AND service_date < %(upper)s
    RETURNING {columns}
)
SELECT {columns} FROM moved

-- name: checksum_staged_rows
-- Count and checksum of the staged rows. {columns}: the parent's columns.
SELECT count(*) AS rows,
       coalesce(sum(hashtextextended(ROW({columns})::text, 0)), 0)::text AS checksum
FROM moving_default_rows

-- name: insert_staged_rows
-- Puts the staged rows back through the parent, which routes them to their month's new
-- partition. {columns}: the parent's columns.
INSERT INTO claims_service.claim_partitioned ({columns})
SELECT {columns} FROM moving_default_rows

-- name: checksum_partition_month
-- Count and checksum of one month's rows in partition {partition}. {columns}: the parent's
-- columns. Parameters: %(lower)s, %(upper)s.
SELECT count(*) AS rows,
       coalesce(sum(hashtextextended(ROW({columns})::text, 0)), 0)::text AS checksum
FROM claims_service.{partition}
WHERE service_date >= %(lower)s AND service_date < %(upper)s

-- name: detach_partition
-- Detaches a month from claims_service.claim_partitioned ({partition} composed by psycopg).
ALTER TABLE claims_service.claim_partitioned DETACH PARTITION claims_service.{partition}

-- name: move_partition_to_archive
-- Moves a detached month into the archive schema, rows untouched ({partition} composed).
ALTER TABLE claims_service.{partition} SET SCHEMA archive
