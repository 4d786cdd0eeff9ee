-- provider_service 0002: provider facilities and specialties, which the provider service may
-- change, are audited like providers, contracts and fee schedules (issue 15, item 5).
SELECT audit.enable_audit('provider_service.provider_facility');
SELECT audit.enable_audit('provider_service.provider_specialty');
