-- audit 0001: the audit log and statement-level audit triggers.
-- The seed's row-by-row trigger becomes three statement triggers with transition tables:
-- one set-based INSERT per statement, so a million-row batch update stays a batch.

REVOKE ALL ON SCHEMA audit FROM PUBLIC;

CREATE TABLE audit.audit_log (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schema_name      VARCHAR(63) NOT NULL,
    table_name       VARCHAR(63) NOT NULL,
    operation        VARCHAR(10) NOT NULL,
    user_name        VARCHAR(63) NOT NULL,
    "timestamp"      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    transaction_id   BIGINT NOT NULL DEFAULT txid_current(),
    application_name TEXT,
    row_id           TEXT,
    old_data         JSONB,
    new_data         JSONB,
    CONSTRAINT chk_audit_log_operation CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE'))
);

CREATE INDEX idx_audit_log_timestamp_brin ON audit.audit_log USING BRIN ("timestamp");
CREATE INDEX idx_audit_log_table_row ON audit.audit_log (schema_name, table_name, row_id);

-- SECURITY DEFINER: services write audit rows without any privilege on audit.audit_log.
CREATE FUNCTION audit.log_insert()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO audit.audit_log (schema_name, table_name, operation, user_name,
                                 application_name, row_id, new_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, session_user,
           current_setting('application_name', true), n.id::text, to_jsonb(n)
    FROM new_rows AS n;
    RETURN NULL;
END;
$$;

CREATE FUNCTION audit.log_update()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
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

CREATE FUNCTION audit.log_delete()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO audit.audit_log (schema_name, table_name, operation, user_name,
                                 application_name, row_id, old_data)
    SELECT TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, session_user,
           current_setting('application_name', true), o.id::text, to_jsonb(o)
    FROM old_rows AS o;
    RETURN NULL;
END;
$$;

-- Puts the three audit triggers on a table (which must have an `id` column). Idempotent.
CREATE FUNCTION audit.enable_audit(p_table REGCLASS)
RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE TRIGGER audit_insert AFTER INSERT ON %s '
                   'REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit.log_insert()', p_table);
    EXECUTE format('CREATE OR REPLACE TRIGGER audit_update AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit.log_update()', p_table);
    EXECUTE format('CREATE OR REPLACE TRIGGER audit_delete AFTER DELETE ON %s '
                   'REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit.log_delete()', p_table);
END;
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA audit FROM PUBLIC;
