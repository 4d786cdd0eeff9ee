-- common 0001 down: drop what the upgrade created (roles are kept: they are cluster-wide).
DROP FUNCTION IF EXISTS common.health_check();
DROP FUNCTION IF EXISTS common.mask_national_id(TEXT);
DROP FUNCTION IF EXISTS common.add_updated_at_triggers(TEXT);
DROP FUNCTION IF EXISTS common.update_updated_at() CASCADE;
DROP TABLE IF EXISTS common.icd10_chapter, common.reason_code, common.benefit_code,
    common.status_code, common.claim_type, common.service_type;
