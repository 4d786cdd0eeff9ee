-- claims_service 0010: the posting outbox cannot be emptied except by posting (issue 15,
-- item 5).
--
-- Deleting posting_outbox rows (after a crash, say) made a plain posting run report
-- "0 lines posted" and succeed: a line without an outbox row counts as posted, and only a
-- full reconciliation noticed that the ledger lacked it. Now the claims service has no
-- DELETE on the outbox. Posting takes its line versions out through
-- claims_service.mark_lines_posted() (SECURITY DEFINER, owned by the schema's owner), which
-- deletes only the outbox rows whose (line, version) it is given and whose line holds that
-- version decided, and records every call, with the line versions it took out, in
-- audit.posting_outbox_release (append-only: no service role has any right on it).

REVOKE DELETE ON claims_service.posting_outbox FROM claims_service_user;

CREATE TABLE audit.posting_outbox_release (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    released_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    user_name        VARCHAR(63) NOT NULL,
    application_name TEXT,
    transaction_id   BIGINT NOT NULL DEFAULT txid_current(),
    lines_given      INTEGER NOT NULL,
    claim_item_ids   UUID[] NOT NULL,
    versions         INTEGER[] NOT NULL
);
REVOKE ALL ON audit.posting_outbox_release FROM PUBLIC;

COMMENT ON TABLE audit.posting_outbox_release IS
    'Each call of claims_service.mark_lines_posted(): who, when, and the line versions it took out of posting_outbox';

-- Returns the line versions it took out of the queue, one row each (posting counts them).
CREATE FUNCTION claims_service.mark_lines_posted(p_claim_item_ids UUID[], p_versions INTEGER[])
RETURNS TABLE (released_claim_item_id UUID, released_version INTEGER)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_ids UUID[];
    v_versions INTEGER[];
BEGIN
    IF cardinality(p_claim_item_ids) IS DISTINCT FROM cardinality(p_versions) THEN
        RAISE EXCEPTION 'mark_lines_posted: % line ids but % versions',
            cardinality(p_claim_item_ids), cardinality(p_versions)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF coalesce(cardinality(p_claim_item_ids), 0) = 0 THEN
        RETURN;
    END IF;
    -- Only the given (line, version) pairs, and only while the line holds that version
    -- decided: a line decided again meanwhile (a newer version in its outbox row) stays
    -- queued, and so does a row of a line never decided.
    WITH given AS (
        SELECT g.claim_item_id, g.adjudication_version
        FROM unnest(p_claim_item_ids, p_versions) AS g (claim_item_id, adjudication_version)
    ),
    released AS (
        DELETE FROM claims_service.posting_outbox AS o
        USING given AS g, claims_service.claim_item AS ci
        WHERE o.claim_item_id = g.claim_item_id
          AND o.adjudication_version = g.adjudication_version
          AND ci.id = o.claim_item_id
          AND ci.adjudication_version = o.adjudication_version
          AND ci.adjudicated_at IS NOT NULL
        RETURNING o.claim_item_id, o.adjudication_version
    )
    SELECT coalesce(array_agg(r.claim_item_id ORDER BY r.claim_item_id), '{}'),
           coalesce(array_agg(r.adjudication_version ORDER BY r.claim_item_id), '{}')
    INTO v_ids, v_versions
    FROM released AS r;
    INSERT INTO audit.posting_outbox_release (user_name, application_name, lines_given,
                                              claim_item_ids, versions)
    VALUES (session_user, current_setting('application_name', true),
            cardinality(p_claim_item_ids), v_ids, v_versions);
    RETURN QUERY SELECT r.id, r.version FROM unnest(v_ids, v_versions) AS r (id, version);
END;
$$;

REVOKE ALL ON FUNCTION claims_service.mark_lines_posted(UUID[], INTEGER[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claims_service.mark_lines_posted(UUID[], INTEGER[])
    TO claims_service_user;
