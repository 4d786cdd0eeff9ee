-- notification_service 0002: message templates, which the notification service may change,
-- are audited like the notifications (issue 15, item 5).
--
-- The audit triggers (audit 0001) key each logged row by its `id` column; a template's key
-- is its `code`. `id` is that code, generated and stored: the audit log's row_id of a
-- template is its code, and nobody writes the column (an insert or update naming it fails).
ALTER TABLE notification_service.notification_template
    ADD COLUMN id VARCHAR(50) GENERATED ALWAYS AS (code) STORED;

SELECT audit.enable_audit('notification_service.notification_template');
