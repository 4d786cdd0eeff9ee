-- benefit_service 0003: opening balances.
-- Usage carried over from before this system (a migration from the previous claims engine,
-- or demo data) is recorded here when it is loaded into the accumulators, so that the
-- reconciliation can prove accumulator = opening balance + posting ledger, key by key.

CREATE TABLE benefit_service.accumulator_opening (
    member_id       UUID NOT NULL,
    benefit_code    VARCHAR(50) NOT NULL,
    year            INTEGER NOT NULL,
    amount_used     DECIMAL(15,2) NOT NULL DEFAULT 0,
    deductible_used DECIMAL(15,2) NOT NULL DEFAULT 0,
    oop_used        DECIMAL(15,2) NOT NULL DEFAULT 0,
    visits_used     INTEGER NOT NULL DEFAULT 0,
    days_used       INTEGER NOT NULL DEFAULT 0,
    loaded_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT pk_accumulator_opening PRIMARY KEY (member_id, benefit_code, year)
);

-- Insert-only for the service (no UPDATE or DELETE grant): the record is its own audit.
-- Default privileges of the schema would add UPDATE and DELETE: taken back.
REVOKE ALL ON benefit_service.accumulator_opening FROM benefit_service_user;
GRANT SELECT, INSERT ON benefit_service.accumulator_opening TO benefit_service_user;
GRANT SELECT ON benefit_service.accumulator_opening TO reporting_user;
