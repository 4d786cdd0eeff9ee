-- benefit_service 0003 down.
DROP TABLE benefit_service.accumulator_opening;
