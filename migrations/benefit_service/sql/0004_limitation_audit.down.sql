-- benefit_service 0004 down: limitations and exclusions without the audit triggers again.
DROP TRIGGER IF EXISTS audit_insert ON benefit_service.benefit_limitation;
DROP TRIGGER IF EXISTS audit_update ON benefit_service.benefit_limitation;
DROP TRIGGER IF EXISTS audit_delete ON benefit_service.benefit_limitation;
DROP TRIGGER IF EXISTS audit_insert ON benefit_service.benefit_exclusion;
DROP TRIGGER IF EXISTS audit_update ON benefit_service.benefit_exclusion;
DROP TRIGGER IF EXISTS audit_delete ON benefit_service.benefit_exclusion;
