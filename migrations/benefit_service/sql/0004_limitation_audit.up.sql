-- benefit_service 0004: benefit limitations and exclusions, which the benefit service may
-- change, are audited like plan benefits and cost sharing.
SELECT audit.enable_audit('benefit_service.benefit_limitation');
SELECT audit.enable_audit('benefit_service.benefit_exclusion');
