-- audit 0002 down.
DROP FUNCTION audit.log_update_of_content();
