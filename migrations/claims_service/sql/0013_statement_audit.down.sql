-- claims_service 0013 down.
GRANT DELETE ON claims_service.claim_status_history, claims_service.claim_note
    TO claims_service_user;

CREATE OR REPLACE FUNCTION claims_service.archive_claim_records(p_table TEXT, p_claim_ids UUID[],
                                                                p_run_id UUID)
RETURNS BIGINT
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_unsettled TEXT;
    v_columns TEXT;
    v_scope TEXT;
    v_moved BIGINT;
BEGIN
    IF p_table NOT IN ('claim_item_decision', 'claim_item_override', 'claim_readjustment') THEN
        RAISE EXCEPTION 'archive_claim_records: % is not a record table', p_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM 1 FROM claims_service.claim AS c WHERE c.id = ANY(p_claim_ids) FOR UPDATE;
    SELECT string_agg(c.claim_number, ', ' ORDER BY c.claim_number) INTO v_unsettled
    FROM claims_service.claim AS c
    WHERE c.id = ANY(p_claim_ids)
      AND (c.status NOT IN ('approved', 'partially_approved', 'rejected', 'paid', 'cancelled')
           OR EXISTS (SELECT 1 FROM claims_service.claim_readjustment AS r
                      WHERE r.claim_id = c.id AND r.status = 'open')
           OR EXISTS (SELECT 1 FROM claims_service.claim_item AS i
                      JOIN claims_service.posting_outbox AS o ON o.claim_item_id = i.id
                      WHERE i.claim_id = c.id)
           OR EXISTS (SELECT 1 FROM claims_service.claim_payment AS p
                      WHERE p.claim_id = c.id AND p.status IN ('pending', 'scheduled')));
    IF v_unsettled IS NOT NULL THEN
        RAISE EXCEPTION 'archive_claim_records: claims not settled: %', v_unsettled
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_run_id IS NULL THEN
        RAISE EXCEPTION 'archive_claim_records: records move only in an archiving run (no run id)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF coalesce(cardinality(p_claim_ids), 0) = 0 THEN
        RETURN 0;
    END IF;
    IF (SELECT count(*) FROM claims_service.claim AS c WHERE c.id = ANY(p_claim_ids))
       <> (SELECT count(DISTINCT ids.id) FROM unnest(p_claim_ids) AS ids (id)) THEN
        RAISE EXCEPTION 'archive_claim_records: not every claim is in claims_service'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_columns
    FROM pg_attribute AS a
    WHERE a.attrelid = format('claims_service.%I', p_table)::regclass
      AND a.attnum > 0 AND NOT a.attisdropped;
    v_scope := CASE p_table
        WHEN 'claim_readjustment' THEN 't.claim_id = ANY($1)'
        ELSE 't.claim_item_id IN (SELECT i.id FROM claims_service.claim_item AS i '
             'WHERE i.claim_id = ANY($1))' END;
    EXECUTE format(
        'WITH moved AS (DELETE FROM claims_service.%1$I AS t WHERE %2$s RETURNING %3$s) '
        'INSERT INTO archive.%1$I (%3$s, archive_run_id) SELECT %3$s, $2 FROM moved',
        p_table, v_scope, v_columns)
    USING p_claim_ids, p_run_id;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    INSERT INTO audit.archive_record_move (table_name, claim_ids, run_id)
    VALUES (p_table, p_claim_ids, p_run_id);
    RETURN v_moved;
END;
$$;

DELETE FROM audit.statement_audit
WHERE schema_name = 'claims_service' AND table_name = 'claim_item' AND operation = 'UPDATE';

ALTER TABLE archive.claim_item_decision
    DROP COLUMN in_network,
    DROP COLUMN coverage_id,
    DROP COLUMN plan_id,
    DROP COLUMN benefit_year;
ALTER TABLE claims_service.claim_item_decision
    DROP COLUMN in_network,
    DROP COLUMN coverage_id,
    DROP COLUMN plan_id,
    DROP COLUMN benefit_year;
