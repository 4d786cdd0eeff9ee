-- name: dumped_tables
-- The tables whose rows a dump holds: every ordinary table (partitions included) of every
-- non-system schema, or of one schema. Parameters: %(schema)s (NULL: every schema).
WITH user_tables AS (
    SELECT n.nspname AS schema_name, c.relname AS table_name
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_temp%%' AND n.nspname NOT LIKE 'pg\_toast%%'
)
SELECT schema_name, table_name
FROM user_tables
WHERE %(schema)s::text IS NULL OR schema_name = %(schema)s
ORDER BY 1, 2
