-- provider_service 0002 down: facilities and specialties without the audit triggers again.
DROP TRIGGER IF EXISTS audit_insert ON provider_service.provider_facility;
DROP TRIGGER IF EXISTS audit_update ON provider_service.provider_facility;
DROP TRIGGER IF EXISTS audit_delete ON provider_service.provider_facility;
DROP TRIGGER IF EXISTS audit_insert ON provider_service.provider_specialty;
DROP TRIGGER IF EXISTS audit_update ON provider_service.provider_specialty;
DROP TRIGGER IF EXISTS audit_delete ON provider_service.provider_specialty;
