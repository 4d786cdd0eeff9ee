-- claims_service 0009: nothing changes without a trace, and archive_claim_records only
-- inside an archiving run.
--
-- Item 1: the dashboard view runs with the invoker's rights, and no role writes through it.
-- Item 5: the status history and the notes are insert-only for the claims service. The
--   service may not update them, and deletes them only by archiving: a deleted row must be
--   in the archive, and its claim gone from claims_service, when the transaction commits
--   (a deferred constraint trigger; the archiving flow moves them with their claim, in one
--   transaction). Both are audited, and so are the claim's documents.
-- Item 6: archive_claim_records (SECURITY DEFINER) moved a live claim's decisions when the
--   service called it outside any run. It now also refuses a call without a run id, and
--   every call is checked when its transaction commits: the run must be recorded in
--   archive.archive_run_log (a 'moved' row of that run and table, which the archiving flow
--   writes in the batch's transaction) and every claim of the call must have moved to
--   archive.claim under that run, in the same transaction.

ALTER VIEW claims_service.v_claims_dashboard SET (security_invoker = true);
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON claims_service.v_claims_dashboard FROM claims_service_user;

-- Status history and notes ---------------------------------------------------------------
REVOKE UPDATE ON claims_service.claim_status_history, claims_service.claim_note
    FROM claims_service_user;

CREATE FUNCTION claims_service.require_archived_with_claim()
RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_archived BOOLEAN;
BEGIN
    -- The admin role (the table's owner) may delete, as any owner may.
    IF pg_has_role(current_user, (SELECT c.relowner FROM pg_class AS c WHERE c.oid = TG_RELID),
                   'MEMBER') THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM claims_service.claim AS c WHERE c.id = OLD.claim_id) THEN
        RAISE EXCEPTION 'claims_service.%: a row of a claim still in claims_service may not be deleted (only archived with its claim)',
            TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM archive.%I AS a WHERE a.id = $1)', TG_TABLE_NAME)
        INTO v_archived USING OLD.id;
    IF NOT v_archived THEN
        RAISE EXCEPTION 'claims_service.%: row % deleted without being archived',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION claims_service.require_archived_with_claim() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER archive_only_delete
    AFTER DELETE ON claims_service.claim_status_history
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION claims_service.require_archived_with_claim();
CREATE CONSTRAINT TRIGGER archive_only_delete
    AFTER DELETE ON claims_service.claim_note
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION claims_service.require_archived_with_claim();

SELECT audit.enable_audit('claims_service.claim_status_history');
SELECT audit.enable_audit('claims_service.claim_note');
SELECT audit.enable_audit('claims_service.claim_document');

-- archive_claim_records inside a run only -------------------------------------------------
-- One row per call, checked and removed when the transaction commits. It lives in `audit`,
-- where no service role has any right: only the owner's functions read or write it.
CREATE TABLE audit.archive_record_move (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name TEXT NOT NULL,
    claim_ids  UUID[] NOT NULL,
    run_id     UUID NOT NULL
);
REVOKE ALL ON audit.archive_record_move FROM PUBLIC;

CREATE FUNCTION claims_service.check_archive_record_move()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_stayed TEXT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM archive.archive_run_log AS l
                   WHERE l.run_id = NEW.run_id AND l.table_name = NEW.table_name
                     AND l.outcome = 'moved') THEN
        RAISE EXCEPTION 'archive_claim_records: run % is not recorded in archive.archive_run_log for %',
            NEW.run_id, NEW.table_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT string_agg(ids.id::text, ', ' ORDER BY ids.id) INTO v_stayed
    FROM unnest(NEW.claim_ids) AS ids (id)
    WHERE EXISTS (SELECT 1 FROM claims_service.claim AS c WHERE c.id = ids.id)
       OR NOT EXISTS (SELECT 1 FROM archive.claim AS a
                      WHERE a.id = ids.id AND a.archive_run_id = NEW.run_id);
    IF v_stayed IS NOT NULL THEN
        RAISE EXCEPTION 'archive_claim_records: claims not archived in run %: %', NEW.run_id, v_stayed
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    DELETE FROM audit.archive_record_move AS m WHERE m.id = NEW.id;
    RETURN NULL;
END;
$$;

REVOKE ALL ON FUNCTION claims_service.check_archive_record_move() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER archive_record_move_in_run
    AFTER INSERT ON audit.archive_record_move
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION claims_service.check_archive_record_move();

-- As 0006, plus: a run id is required; every claim of the call must exist; a claim with a
-- line waiting for posting or a payment pending is not settled either (as the archiving
-- flow's select_batch); and the call is recorded for the check at commit.
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
