-- common 0004 down: health_check() as common 0003 defined it (table_bloat by the
-- dead-tuple ratio alone).
CREATE OR REPLACE FUNCTION common.health_check(
    p_newest_verified_backup TIMESTAMP WITH TIME ZONE DEFAULT NULL,
    p_backup_max_age INTERVAL DEFAULT INTERVAL '26 hours',
    p_min_runway_months INTEGER DEFAULT 2,
    p_archive_older_than INTERVAL DEFAULT INTERVAL '2 years',
    p_today DATE DEFAULT NULL
)
RETURNS TABLE (check_name VARCHAR, status VARCHAR, details TEXT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_today DATE := coalesce(p_today, (now() AT TIME ZONE 'Asia/Jakarta')::date);
    v_month DATE := date_trunc('month', v_today)::date;
    v_cutoff DATE := (v_today - p_archive_older_than)::date;
    v_runway INTEGER;
    v_default REGCLASS;
    v_rows BIGINT := 0;
    v_first DATE;
    v_last DATE;
    v_claims BIGINT := 0;
    v_held BIGINT := 0;
    v_unposted BIGINT := 0;
    v_unpaid BIGINT := 0;
    v_readjusting BIGINT := 0;
    v_partitions INTEGER := 0;
    v_part RECORD;
    v_nonempty BOOLEAN;
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

    IF to_regclass('claims_service.claim_partitioned') IS NOT NULL THEN
        -- Runway: consecutive months from the current one that have a partition.
        WITH bounds AS (
            SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::date AS lo,
                   substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::date AS hi
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'claims_service.claim_partitioned'::regclass
              AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
        ),
        months AS (
            SELECT (v_month + make_interval(months => k))::date AS m, k
            FROM generate_series(0, 119) AS k
        ),
        covered AS (
            SELECT k, EXISTS (SELECT 1 FROM bounds b
                              WHERE b.lo <= m AND b.hi >= (m + interval '1 month')::date) AS ok
            FROM months
        )
        SELECT coalesce(min(k) FILTER (WHERE NOT ok), 120) INTO v_runway FROM covered;

        RETURN QUERY SELECT
            'partition_runway'::VARCHAR,
            CASE
                WHEN v_runway - 1 >= p_min_runway_months THEN 'healthy'
                WHEN v_runway >= 1 THEN 'warning'
                ELSE 'critical'
            END::VARCHAR,
            CASE WHEN v_runway = 0
                THEN format('No partition for the current month %s', to_char(v_month, 'YYYY-MM'))
                ELSE format('Partitions through %s: %s month(s) ahead (want %s)',
                            to_char(v_month + make_interval(months => v_runway - 1), 'YYYY-MM'),
                            v_runway - 1, p_min_runway_months)
            END::TEXT;

        SELECT pt.partdefid::regclass INTO v_default
        FROM pg_partitioned_table pt
        WHERE pt.partrelid = 'claims_service.claim_partitioned'::regclass AND pt.partdefid <> 0;
        IF v_default IS NULL THEN
            RETURN QUERY SELECT 'default_partition_rows'::VARCHAR, 'critical'::VARCHAR,
                'claims_service.claim_partitioned has no default partition'::TEXT;
        ELSE
            EXECUTE format('SELECT count(*), min(service_date), max(service_date) FROM %s',
                           v_default) INTO v_rows, v_first, v_last;
            RETURN QUERY SELECT
                'default_partition_rows'::VARCHAR,
                CASE WHEN v_rows = 0 THEN 'healthy' ELSE 'critical' END::VARCHAR,
                CASE WHEN v_rows = 0 THEN format('%s is empty', v_default)
                    ELSE format('%s rows in %s (service dates %s to %s): run partition '
                                'maintenance with --move-default-rows', v_rows, v_default,
                                v_first, v_last)
                END::TEXT;
        END IF;
    END IF;

    RETURN QUERY SELECT
        'backup_freshness'::VARCHAR,
        CASE
            WHEN p_newest_verified_backup IS NULL THEN 'warning'
            WHEN p_newest_verified_backup = '-infinity' THEN 'critical'
            WHEN now() - p_newest_verified_backup <= p_backup_max_age THEN 'healthy'
            ELSE 'critical'
        END::VARCHAR,
        CASE
            WHEN p_newest_verified_backup IS NULL
                THEN 'Not checked: pass the newest verified backup''s time '
                     '(claims-askes run database-monitoring does)'
            WHEN p_newest_verified_backup = '-infinity' THEN 'No verified backup'
            ELSE format('Newest verified backup %s old (limit %s)',
                        date_trunc('second', now() - p_newest_verified_backup), p_backup_max_age)
        END::TEXT;

    IF to_regclass('claims_service.claim') IS NOT NULL
       AND to_regclass('claims_service.posting_outbox') IS NULL THEN
        -- claims_service below its 0007 (mid-migration): the archiver's conditions need it.
        RETURN QUERY SELECT 'archive_backlog'::VARCHAR, 'warning'::VARCHAR,
            'Not checked: claims_service has no posting_outbox (migrate it to its head)'::TEXT;
    ELSIF to_regclass('claims_service.claim') IS NOT NULL THEN
        -- Settled claims before the cutoff, split as the archiver splits them: the conditions
        -- are those of sql/claims_service/archive.sql (select_batch takes a claim, and
        -- count_held_back counts it held back, when one of its lines is in posting_outbox,
        -- a payment is pending or scheduled, or a readjustment is open). Keep them in step.
        SELECT count(*) FILTER (WHERE NOT (s.unposted OR s.unpaid OR s.readjusting)),
               count(*) FILTER (WHERE s.unposted OR s.unpaid OR s.readjusting),
               count(*) FILTER (WHERE s.unposted),
               count(*) FILTER (WHERE s.unpaid),
               count(*) FILTER (WHERE s.readjusting)
        INTO v_claims, v_held, v_unposted, v_unpaid, v_readjusting
        FROM (
            SELECT EXISTS (SELECT 1 FROM claims_service.claim_item AS i
                           JOIN claims_service.posting_outbox AS o ON o.claim_item_id = i.id
                           WHERE i.claim_id = c.id) AS unposted,
                   EXISTS (SELECT 1 FROM claims_service.claim_payment AS p
                           WHERE p.claim_id = c.id AND p.status IN ('pending', 'scheduled'))
                       AS unpaid,
                   EXISTS (SELECT 1 FROM claims_service.claim_readjustment AS r
                           WHERE r.claim_id = c.id AND r.status = 'open') AS readjusting
            FROM claims_service.claim AS c
            WHERE c.service_date < v_cutoff
              AND c.status IN ('approved', 'partially_approved', 'rejected', 'paid', 'cancelled')
        ) AS s;
        -- Whole months: the archiver moves every month that ends by the cutoff, unconditionally.
        FOR v_part IN
            SELECT c.oid::regclass AS rel
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'claims_service.claim_partitioned'::regclass
              AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
              AND substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::date
                  <= v_cutoff
        LOOP
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', v_part.rel) INTO v_nonempty;
            IF v_nonempty THEN
                v_partitions := v_partitions + 1;
            END IF;
        END LOOP;
        -- Only what the archiver would take is a backlog; claims held back wait for posting,
        -- payment or payment follow-up, not for archiving, and are reported in words only.
        RETURN QUERY SELECT
            'archive_backlog'::VARCHAR,
            CASE WHEN v_claims = 0 AND v_partitions = 0 THEN 'healthy' ELSE 'warning' END::VARCHAR,
            format('%s settled claims ready to archive and %s held back (%s with lines not '
                   'posted yet, %s with a payment pending or scheduled, %s with a readjustment '
                   'open), %s non-empty partitions older than %s (cutoff %s)',
                   v_claims, v_held, v_unposted, v_unpaid, v_readjusting, v_partitions,
                   p_archive_older_than, v_cutoff)::TEXT;
    END IF;
END;
$$;
