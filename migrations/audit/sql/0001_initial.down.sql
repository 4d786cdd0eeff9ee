-- audit 0001 down. Triggers that use these functions go with them (CASCADE).
DROP FUNCTION IF EXISTS audit.enable_audit(REGCLASS);
DROP FUNCTION IF EXISTS audit.log_insert() CASCADE;
DROP FUNCTION IF EXISTS audit.log_update() CASCADE;
DROP FUNCTION IF EXISTS audit.log_delete() CASCADE;
DROP TABLE IF EXISTS audit.audit_log;
