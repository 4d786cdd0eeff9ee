DROP FUNCTION IF EXISTS benefit_service.update_accumulator(UUID, VARCHAR, DECIMAL, DATE, DECIMAL, DECIMAL, INTEGER, INTEGER);
DROP TABLE IF EXISTS benefit_service.accumulator, benefit_service.cost_sharing,
    benefit_service.benefit_exclusion, benefit_service.benefit_limitation, benefit_service.plan_benefit;
