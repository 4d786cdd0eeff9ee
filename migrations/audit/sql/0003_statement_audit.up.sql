-- audit 0003: statement audit of registered batch runs (issue 14); row audit for the rest.
-- A batch transaction registers itself once, through common.register_batch_run() (SECURITY
-- DEFINER, the only way in: no service role may read or write any table here). The audit
-- triggers then write one audit.statement_log row per statement and table, with the changed
-- rows' ids, instead of one audit_log row per row, but only where audit.statement_audit says
-- the table and operation may be (the per-table decision: the content of every row version
-- is kept elsewhere) and its guard, if any, holds for the statement. Anything else, any
-- session that registered nothing, and a registration of another transaction or login, stays
-- row-audited exactly as before. Existing audit_log rows are untouched.

-- The runs ----------------------------------------------------------------------------------
-- One row per registered transaction. A transaction id (xid8, 64-bit: never wraps, never
-- recurs) names exactly one transaction, so a registration cannot outlive its transaction,
-- be guessed by a later one or be set by any setting.
CREATE TABLE audit.batch_run (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow_run_id   UUID NOT NULL,
    flow_name     TEXT NOT NULL,
    login         NAME NOT NULL DEFAULT session_user,
    registered_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(),
    xact_id       XID8 NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT chk_batch_run_flow_name CHECK (length(btrim(flow_name)) BETWEEN 1 AND 200)
);
-- The triggers' lookup, once per statement: by the current transaction id.
CREATE UNIQUE INDEX uk_batch_run_xact ON audit.batch_run (xact_id);
CREATE INDEX idx_batch_run_flow_run ON audit.batch_run (flow_run_id);

-- The per-table decision ---------------------------------------------------------------------
-- A (table, operation) listed here is statement-audited in a registered transaction; `record`
-- says where the content of the row versions it writes is kept, `guard` (optional) is a query
-- over the statement's transition tables (old_rows, new_rows) that must return true, or the
-- statement is row-audited after all. Written by migrations only.
CREATE TABLE audit.statement_audit (
    schema_name TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    operation   TEXT NOT NULL,
    record      TEXT NOT NULL,
    guard       TEXT,
    CONSTRAINT pk_statement_audit PRIMARY KEY (schema_name, table_name, operation),
    CONSTRAINT chk_statement_audit_operation CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE'))
);

-- The statement log ----------------------------------------------------------------------------
-- One row per statement and table of a registered run: which rows, not their content. Ids
-- are kept expandable: uuid ids as an array (unnest), integer ids as an int8multirange
-- (unnest, then generate_series over each range), any other key as text.
CREATE TABLE audit.statement_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_run_id BIGINT NOT NULL,
    schema_name  VARCHAR(63) NOT NULL,
    table_name   VARCHAR(63) NOT NULL,
    operation    VARCHAR(10) NOT NULL,
    row_count    BIGINT NOT NULL,
    row_uuids    UUID[],
    row_ints     INT8MULTIRANGE,
    row_keys     TEXT[],
    logged_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT statement_timestamp(),
    CONSTRAINT fk_statement_log_run FOREIGN KEY (batch_run_id) REFERENCES audit.batch_run (id),
    CONSTRAINT chk_statement_log_operation CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE'))
);
CREATE INDEX idx_statement_log_run ON audit.statement_log (batch_run_id);
CREATE INDEX idx_statement_log_table ON audit.statement_log (schema_name, table_name);
CREATE INDEX idx_statement_log_logged_brin ON audit.statement_log USING BRIN (logged_at);

-- Rows expanded: one row per (statement, changed row id as text).
CREATE VIEW audit.statement_log_rows WITH (security_invoker = true) AS
SELECT s.id AS statement_id, s.batch_run_id, r.flow_run_id, r.flow_name, r.login,
       r.xact_id, s.schema_name, s.table_name, s.operation, s.logged_at, ids.row_id
FROM audit.statement_log AS s
JOIN audit.batch_run AS r ON r.id = s.batch_run_id
CROSS JOIN LATERAL (
    SELECT u::text FROM unnest(s.row_uuids) AS u
    UNION ALL
    SELECT g::text FROM unnest(s.row_ints) AS m, generate_series(lower(m), upper(m) - 1) AS g
    UNION ALL
    SELECT k FROM unnest(s.row_keys) AS k
) AS ids (row_id);

-- Registration --------------------------------------------------------------------------------
-- In `common`, where every service already has USAGE: the services get no access to `audit`,
-- not even to name its objects. The one way into statement mode: records (flow run, flow name, login, time, transaction)
-- for the calling transaction and returns the registration's id; a second call in the same
-- transaction returns the first one's.
CREATE FUNCTION common.register_batch_run(p_flow_run_id UUID, p_flow_name TEXT)
RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_id BIGINT;
BEGIN
    IF p_flow_run_id IS NULL OR p_flow_name IS NULL THEN
        RAISE EXCEPTION 'register_batch_run: a flow run id and flow name are required'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO audit.batch_run (flow_run_id, flow_name)
    VALUES (p_flow_run_id, p_flow_name)
    ON CONFLICT (xact_id) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT r.id INTO v_id FROM audit.batch_run AS r WHERE r.xact_id = pg_current_xact_id();
    END IF;
    RETURN v_id;
END;
$$;

-- The registration of this transaction by this login, when the table and operation are
-- statement-audited (else no row), and the decision's guard.
CREATE FUNCTION audit.statement_mode(p_schema TEXT, p_table TEXT, p_operation TEXT,
                                     OUT run_id BIGINT, OUT guard TEXT)
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.id, s.guard
    FROM audit.statement_audit AS s
    JOIN audit.batch_run AS r ON r.xact_id = pg_current_xact_id() AND r.login = session_user
    WHERE s.schema_name = p_schema AND s.table_name = p_table AND s.operation = p_operation
$$;

-- The INSERT into statement_log for a table's transition table `p_rows`: ids by type.
CREATE FUNCTION audit.statement_log_sql(p_relid OID, p_rows TEXT)
RETURNS TEXT
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format(
        'INSERT INTO audit.statement_log (batch_run_id, schema_name, table_name, operation, '
        '                                 row_count, %s) '
        'SELECT $1, $2, $3, $4, count(*), %s FROM %I AS t HAVING count(*) > 0',
        CASE WHEN t.typname = 'uuid' THEN 'row_uuids'
             WHEN t.typname IN ('int2', 'int4', 'int8') THEN 'row_ints'
             ELSE 'row_keys' END,
        CASE WHEN t.typname = 'uuid' THEN 'array_agg(t.id)'
             WHEN t.typname IN ('int2', 'int4', 'int8') THEN 'range_agg(int8range(t.id, t.id, ''[]''))'
             ELSE 'array_agg(t.id::text)' END,
        p_rows)
    FROM pg_attribute AS a
    JOIN pg_type AS t ON t.oid = a.atttypid
    WHERE a.attrelid = p_relid AND a.attname = 'id' AND NOT a.attisdropped
$$;

-- The triggers: statement mode first, else row audit as in 0001/0002 ---------------------------
-- Transition tables are visible only in the trigger function itself, so the guard and the
-- statement log run here (EXECUTE), with the lookups done by the functions above.
CREATE OR REPLACE FUNCTION audit.log_insert()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run BIGINT;
    v_guard TEXT;
    v_ok BOOLEAN := true;
BEGIN
    SELECT m.run_id, m.guard INTO v_run, v_guard
    FROM audit.statement_mode(TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP) AS m;
    IF v_run IS NOT NULL AND v_guard IS NOT NULL THEN
        EXECUTE v_guard INTO v_ok;
    END IF;
    IF v_run IS NOT NULL AND coalesce(v_ok, false) THEN
        EXECUTE audit.statement_log_sql(TG_RELID, 'new_rows')
        USING v_run, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP;
        RETURN NULL;
    END IF;
    INSERT INTO audit.audit_log (schema_name, table_name, operation, user_name,
                                 application_name, row_id, new_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, session_user,
           current_setting('application_name', true), n.id::text, to_jsonb(n)
    FROM new_rows AS n;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION audit.log_update()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run BIGINT;
    v_guard TEXT;
    v_ok BOOLEAN := true;
BEGIN
    SELECT m.run_id, m.guard INTO v_run, v_guard
    FROM audit.statement_mode(TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP) AS m;
    IF v_run IS NOT NULL AND v_guard IS NOT NULL THEN
        EXECUTE v_guard INTO v_ok;
    END IF;
    IF v_run IS NOT NULL AND coalesce(v_ok, false) THEN
        EXECUTE audit.statement_log_sql(TG_RELID, 'new_rows')
        USING v_run, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP;
        RETURN NULL;
    END IF;
    INSERT INTO audit.audit_log (schema_name, table_name, operation, user_name,
                                 application_name, row_id, old_data, new_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, session_user,
           current_setting('application_name', true), coalesce(n.id, o.id)::text,
           to_jsonb(o), to_jsonb(n)
    FROM new_rows AS n
    FULL JOIN old_rows AS o ON o.id = n.id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION audit.log_delete()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_run BIGINT;
    v_guard TEXT;
    v_ok BOOLEAN := true;
BEGIN
    SELECT m.run_id, m.guard INTO v_run, v_guard
    FROM audit.statement_mode(TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP) AS m;
    IF v_run IS NOT NULL AND v_guard IS NOT NULL THEN
        EXECUTE v_guard INTO v_ok;
    END IF;
    IF v_run IS NOT NULL AND coalesce(v_ok, false) THEN
        EXECUTE audit.statement_log_sql(TG_RELID, 'old_rows')
        USING v_run, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP;
        RETURN NULL;
    END IF;
    INSERT INTO audit.audit_log (schema_name, table_name, operation, user_name,
                                 application_name, row_id, old_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, session_user,
           current_setting('application_name', true), o.id::text, to_jsonb(o)
    FROM old_rows AS o;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION audit.log_update_of_content()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed TEXT;
    v_run BIGINT;
    v_guard TEXT;
    v_ok BOOLEAN := true;
BEGIN
    SELECT m.run_id, m.guard INTO v_run, v_guard
    FROM audit.statement_mode(TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP) AS m;
    IF v_run IS NOT NULL AND v_guard IS NOT NULL THEN
        EXECUTE v_guard INTO v_ok;
    END IF;
    IF v_run IS NOT NULL AND coalesce(v_ok, false) THEN
        EXECUTE audit.statement_log_sql(TG_RELID, 'new_rows')
        USING v_run, TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP;
        RETURN NULL;
    END IF;
    SELECT string_agg(format('o.%1$I IS DISTINCT FROM n.%1$I', a.attname), ' OR ')
    INTO changed
    FROM pg_attribute AS a
    WHERE a.attrelid = TG_RELID
      AND a.attnum > 0
      AND NOT a.attisdropped
      AND a.attname <> ALL (TG_ARGV);
    EXECUTE format(
        'INSERT INTO audit.audit_log (schema_name, table_name, operation, user_name, '
        '                             application_name, row_id, old_data, new_data) '
        'SELECT $1, $2, $3, session_user, current_setting(''application_name'', true), '
        '       coalesce(n.id, o.id)::text, to_jsonb(o), to_jsonb(n) '
        'FROM new_rows AS n FULL JOIN old_rows AS o ON o.id = n.id '
        'WHERE o.id IS NULL OR n.id IS NULL OR %s', coalesce(changed, 'true'))
    USING TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP;
    RETURN NULL;
END;
$$;

-- The decisions that need no change elsewhere ---------------------------------------------
-- INSERT: the inserted row is itself the record of its first version; every later change of
-- it is an UPDATE or DELETE, which stays row-audited (old content kept) unless its own
-- decision below guards it. DELETE of a claims table: only archiving deletes there, and the
-- guard requires every deleted row, with the same content, in the insert-only archive table.
-- claim_item's UPDATE is decided in claims_service 0013 (its record gains columns there).
INSERT INTO audit.statement_audit (schema_name, table_name, operation, record) VALUES
    ('claims_service', 'claim_status_history', 'INSERT', 'the row (insert-only)'),
    ('claims_service', 'claim_note', 'INSERT', 'the row (insert-only)'),
    ('claims_service', 'claim_payment', 'INSERT', 'the row; its updates stay row-audited'),
    ('claims_service', 'claim_readjustment', 'INSERT', 'the row; its updates stay row-audited'),
    ('claims_service', 'claim_partitioned', 'INSERT', 'the row; its updates stay row-audited'),
    ('member_service', 'member_eligibility', 'INSERT', 'the row; its updates stay row-audited'),
    ('benefit_service', 'accumulator', 'INSERT',
     'the row (sums of the ledger rows of the same statement); its updates stay row-audited');

INSERT INTO audit.statement_audit (schema_name, table_name, operation, record, guard)
SELECT 'claims_service', t, 'DELETE', format('archive.%s (insert-only), same content', t),
       format('SELECT NOT EXISTS (SELECT 1 FROM old_rows AS o WHERE NOT EXISTS ('
              'SELECT 1 FROM archive.%1$I AS a WHERE a.id = o.id '
              'AND to_jsonb(a) @> to_jsonb(o)))', t)
FROM unnest(ARRAY['claim', 'claim_item', 'claim_document', 'claim_status_history', 'claim_note',
                  'claim_payment', 'claim_item_override', 'claim_readjustment']) AS t;

-- Privileges: services may register, nothing else. ----------------------------------------
REVOKE ALL ON audit.batch_run, audit.statement_audit, audit.statement_log,
              audit.statement_log_rows FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION common.register_batch_run(UUID, TEXT),
                           audit.statement_mode(TEXT, TEXT, TEXT),
                           audit.statement_log_sql(OID, TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION common.register_batch_run(UUID, TEXT) TO
    claims_service_user, member_service_user, provider_service_user, benefit_service_user,
    policy_service_user, authorization_service_user, payment_service_user,
    notification_service_user, document_service_user;
