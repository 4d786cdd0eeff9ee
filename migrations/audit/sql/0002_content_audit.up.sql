-- audit 0002: an update audit that records only rows whose content changed.
-- For tables a batch marks in bulk with bookkeeping columns (a posting mark on every line):
-- the trigger is given the columns that are bookkeeping, not content, and a row whose other
-- columns are unchanged is not logged (that mark is recorded where it belongs, in the
-- posting ledger). The compared columns come from the catalog at each statement, so a
-- column added later is audited without touching this function.

CREATE FUNCTION audit.log_update_of_content()
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

REVOKE EXECUTE ON FUNCTION audit.log_update_of_content() FROM PUBLIC;
