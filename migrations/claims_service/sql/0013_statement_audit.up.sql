-- claims_service 0013: line decisions keep a line's whole decision, so that adjudication's
-- update of claim_item may be audited per statement (issue 14, audit 0003); the status
-- history and notes become insert-only for the claims service, moved by the owner's
-- archive_claim_records() within a recorded archive run.

-- claim_item_decision keeps every column a decision writes (0004 left out the network, the
-- coverage, the plan and the benefit year); so does its archive.
ALTER TABLE claims_service.claim_item_decision
    ADD COLUMN in_network BOOLEAN,
    ADD COLUMN coverage_id UUID,
    ADD COLUMN plan_id UUID,
    ADD COLUMN benefit_year INTEGER;
ALTER TABLE archive.claim_item_decision
    ADD COLUMN in_network BOOLEAN,
    ADD COLUMN coverage_id UUID,
    ADD COLUMN plan_id UUID,
    ADD COLUMN benefit_year INTEGER;

-- The decision (audit 0003): a registered batch's UPDATE of claim_item is audited per statement
-- when, for every row, the version goes up by one, nothing but the decision changes (the
-- submitted line: claim, number, codes, quantity, charge, creation), and the version it
-- replaces (if it was a decision, version > 0) is in claim_item_decision with the same
-- content. The new version stays in claim_item until the next change, which is either such
-- an update (so it lands in claim_item_decision), row-audited, or archiving's guarded move.
-- Any statement that fails this is row-audited as before. (A count, not NOT EXISTS: under
-- EXISTS the planner picks a fast-start nested loop over the two transition tables, which is
-- quadratic; the count joins them by hash.)
INSERT INTO audit.statement_audit (schema_name, table_name, operation, record, guard)
VALUES ('claims_service', 'claim_item', 'UPDATE',
        'claims_service.claim_item_decision (the version replaced, same statement)',
        $guard$SELECT count(*) = 0
    FROM new_rows AS n
    LEFT JOIN old_rows AS o ON o.id = n.id
    WHERE o.id IS NULL
       OR n.adjudication_version IS DISTINCT FROM o.adjudication_version + 1
       OR (n.claim_id, n.line_number, n.benefit_code, n.procedure_code, n.diagnosis_code,
              n.quantity, n.charged_amount, n.created_at)
          IS DISTINCT FROM
          (o.claim_id, o.line_number, o.benefit_code, o.procedure_code, o.diagnosis_code,
              o.quantity, o.charged_amount, o.created_at)
       OR (o.adjudication_version > 0 AND NOT EXISTS (
           SELECT 1 FROM claims_service.claim_item_decision AS d
           WHERE d.claim_item_id = o.id AND d.adjudication_version = o.adjudication_version
             AND (d.status, d.reason_code, d.allowed_amount, d.deductible_amount, d.copay_amount,
                  d.coinsurance_amount, d.network_reduction_amount, d.limit_amount, d.approved_amount,
                  d.member_responsibility, d.oop_amount, d.covered_days, d.visits, d.adjudicated_at,
                  d.in_network, d.coverage_id, d.plan_id, d.benefit_year)
                 IS NOT DISTINCT FROM
                 (o.status, o.reason_code, o.allowed_amount, o.deductible_amount, o.copay_amount,
                  o.coinsurance_amount, o.network_reduction_amount, o.limit_amount, o.approved_amount,
                  o.member_responsibility, o.oop_amount, o.covered_days, o.visits, o.adjudicated_at,
                  o.in_network, o.coverage_id, o.plan_id, o.benefit_year)))$guard$);

-- History and notes: insert-only. Archiving moves them through the owner's function.
REVOKE DELETE ON claims_service.claim_status_history, claims_service.claim_note
    FROM claims_service_user;

-- As 0009, plus claim_status_history and claim_note (by claim).
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
    IF p_table NOT IN ('claim_item_decision', 'claim_item_override', 'claim_readjustment',
                       'claim_status_history', 'claim_note') THEN
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
        WHEN 'claim_item_decision' THEN 't.claim_item_id IN (SELECT i.id FROM claims_service.claim_item AS i '
             'WHERE i.claim_id = ANY($1))'
        WHEN 'claim_item_override' THEN 't.claim_item_id IN (SELECT i.id FROM claims_service.claim_item AS i '
             'WHERE i.claim_id = ANY($1))'
        ELSE 't.claim_id = ANY($1)' END;
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
