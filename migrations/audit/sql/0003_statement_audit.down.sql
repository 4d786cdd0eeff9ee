-- audit 0003 down: row audit only again (0001's and 0002's trigger functions); the
-- registrations and statement records go with their tables. audit_log is untouched.
CREATE OR REPLACE FUNCTION audit.log_insert()
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

CREATE OR REPLACE FUNCTION audit.log_update()
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

CREATE OR REPLACE FUNCTION audit.log_delete()
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

CREATE OR REPLACE FUNCTION audit.log_update_of_content()
RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    changed TEXT;
BEGIN
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

DROP FUNCTION audit.statement_log_sql(OID, TEXT);
DROP FUNCTION audit.statement_mode(TEXT, TEXT, TEXT);
DROP FUNCTION common.register_batch_run(UUID, TEXT);
DROP VIEW audit.statement_log_rows;
DROP TABLE audit.statement_log;
DROP TABLE audit.statement_audit;
DROP TABLE audit.batch_run;
