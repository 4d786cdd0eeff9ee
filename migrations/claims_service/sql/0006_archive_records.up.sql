-- claims_service 0006: the archive of a claim's decision history (claim_item_decision),
-- reviewers' overrides (claim_item_override) and readjustments (claim_readjustment), which
-- 0004 added to claims_service but not to the archive: a claim with any of them could not be
-- archived at all (their foreign keys refused the move of its lines).
--
-- The claims service may not delete these rows (the history is append-only, overrides and
-- readjustments are records), so they move through archive_claim_records, which runs as the
-- owner, moves rows of settled claims only, into the insert-only archive, and nothing else.

CREATE TABLE archive.claim_item_decision (
    LIKE claims_service.claim_item_decision INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_item_decision PRIMARY KEY (claim_item_id, adjudication_version));
-- Generated columns arrive as plain columns holding the values they had (LIKE without
-- INCLUDING GENERATED): an archived row keeps what it said.
CREATE TABLE archive.claim_item_override (
    LIKE claims_service.claim_item_override INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_item_override PRIMARY KEY (id));
CREATE TABLE archive.claim_readjustment (
    LIKE claims_service.claim_readjustment INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_readjustment PRIMARY KEY (id));

CREATE INDEX idx_archive_claim_item_override_item ON archive.claim_item_override (claim_item_id);
CREATE INDEX idx_archive_claim_readjustment_claim_id ON archive.claim_readjustment (claim_id);

REVOKE ALL ON archive.claim_item_decision, archive.claim_item_override,
    archive.claim_readjustment FROM claims_service_user, reporting_user;
GRANT SELECT, INSERT ON archive.claim_item_decision, archive.claim_item_override,
    archive.claim_readjustment TO claims_service_user;
GRANT SELECT ON archive.claim_item_decision, archive.claim_item_override,
    archive.claim_readjustment TO reporting_user;

-- Moves one table's rows of the given claims into the archive and returns how many moved.
-- p_table: claim_item_decision, claim_item_override or claim_readjustment. Refuses (nothing
-- moves) a claim that is not settled, or has a readjustment still open, so it cannot be used
-- to take a live claim's records out of claims_service. The columns moved are the source
-- table's, by name, so a column added later moves too or the insert fails.
CREATE FUNCTION claims_service.archive_claim_records(p_table TEXT, p_claim_ids UUID[],
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
                      WHERE r.claim_id = c.id AND r.status = 'open'));
    IF v_unsettled IS NOT NULL THEN
        RAISE EXCEPTION 'archive_claim_records: claims not settled: %', v_unsettled
            USING ERRCODE = 'check_violation';
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
    RETURN v_moved;
END;
$$;

REVOKE ALL ON FUNCTION claims_service.archive_claim_records(TEXT, UUID[], UUID) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claims_service.archive_claim_records(TEXT, UUID[], UUID)
    TO claims_service_user;
