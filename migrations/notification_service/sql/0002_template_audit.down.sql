-- notification_service 0002 down: templates without the audit triggers and without the
-- generated `id` column again.
DROP TRIGGER IF EXISTS audit_insert ON notification_service.notification_template;
DROP TRIGGER IF EXISTS audit_update ON notification_service.notification_template;
DROP TRIGGER IF EXISTS audit_delete ON notification_service.notification_template;
ALTER TABLE notification_service.notification_template DROP COLUMN id;
