-- common 0002 down: health_check() as common 0001 made it.
DROP FUNCTION common.health_check(TIMESTAMP WITH TIME ZONE, INTERVAL, INTEGER, INTERVAL, DATE);

-- The seed's health checks (connections, bloat, replication); operations flows extend it.
CREATE FUNCTION common.health_check()
RETURNS TABLE (check_name VARCHAR, status VARCHAR, details TEXT)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH limits AS (
        SELECT setting::int AS max_connections FROM pg_settings WHERE name = 'max_connections'
    ),
    used AS (
        SELECT count(*)::int AS backends FROM pg_stat_activity
    )
    SELECT
        'connection_count'::VARCHAR,
        CASE
            WHEN used.backends < limits.max_connections * 0.8 THEN 'healthy'
            WHEN used.backends < limits.max_connections * 0.9 THEN 'warning'
            ELSE 'critical'
        END::VARCHAR,
        format('Connections: %s/%s', used.backends, limits.max_connections)::TEXT
    FROM limits, used;

    RETURN QUERY
    WITH ratios AS (
        SELECT max(n_dead_tup::numeric / NULLIF(n_live_tup + n_dead_tup, 0)) AS worst
        FROM pg_stat_user_tables
        WHERE n_live_tup + n_dead_tup > 1000
    )
    SELECT
        'table_bloat'::VARCHAR,
        CASE
            WHEN coalesce(worst, 0) < 0.1 THEN 'healthy'
            WHEN worst < 0.2 THEN 'warning'
            ELSE 'critical'
        END::VARCHAR,
        format('Max dead tuple ratio: %s%%', round(coalesce(worst, 0) * 100, 2))::TEXT
    FROM ratios;

    IF EXISTS (SELECT 1 FROM pg_stat_replication) THEN
        RETURN QUERY
        SELECT
            'replication_lag'::VARCHAR,
            CASE
                WHEN max(replay_lag) < interval '1 second' THEN 'healthy'
                WHEN max(replay_lag) < interval '5 seconds' THEN 'warning'
                ELSE 'critical'
            END::VARCHAR,
            format('Max lag: %s', max(replay_lag))::TEXT
        FROM pg_stat_replication;
    END IF;
END;
$$;
