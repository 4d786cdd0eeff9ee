DROP TABLE IF EXISTS benefit_service.accumulator_posting;
