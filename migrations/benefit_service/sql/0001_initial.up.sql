-- benefit_service 0001: plan benefits, limitations, exclusions, cost sharing, accumulators.

CREATE TABLE benefit_service.plan_benefit (
    id                     UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id                UUID NOT NULL,
    benefit_code           VARCHAR(50) NOT NULL,
    benefit_name           VARCHAR(255) NOT NULL,
    benefit_category       VARCHAR(100),
    coverage_type          VARCHAR(50),
    limitation_type        VARCHAR(50),
    annual_limit           DECIMAL(15,2),
    incident_limit         DECIMAL(15,2),
    lifetime_limit         DECIMAL(15,2),
    day_limit              INTEGER,
    visit_limit            INTEGER,
    deductible_amount      DECIMAL(15,2) DEFAULT 0,
    coinsurance_percentage DECIMAL(5,2) DEFAULT 0,
    copay_amount           DECIMAL(15,2) DEFAULT 0,
    requires_preauth       BOOLEAN DEFAULT FALSE,
    waiting_period_days    INTEGER DEFAULT 0,
    age_limit_min          INTEGER,
    age_limit_max          INTEGER,
    in_network_coverage    DECIMAL(5,2) DEFAULT 100,
    out_network_coverage   DECIMAL(5,2) DEFAULT 80,
    is_active              BOOLEAN DEFAULT TRUE,
    effective_date         DATE NOT NULL,
    expiration_date        DATE,
    created_at             TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at             TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_plan_benefit UNIQUE (plan_id, benefit_code),
    CONSTRAINT chk_plan_benefit_percentages CHECK (
        coinsurance_percentage BETWEEN 0 AND 100 AND
        in_network_coverage BETWEEN 0 AND 100 AND
        out_network_coverage BETWEEN 0 AND 100
    ),
    CONSTRAINT chk_plan_benefit_coverage_type CHECK (coverage_type IN ('per_incident', 'per_year', 'lifetime')),
    CONSTRAINT chk_plan_benefit_limitation_type CHECK (limitation_type IN ('days', 'visits', 'amount')),
    CONSTRAINT chk_plan_benefit_limits CHECK (
        coalesce(annual_limit, 0) >= 0 AND coalesce(incident_limit, 0) >= 0 AND
        coalesce(lifetime_limit, 0) >= 0 AND coalesce(day_limit, 0) >= 0 AND
        coalesce(visit_limit, 0) >= 0 AND coalesce(deductible_amount, 0) >= 0 AND
        coalesce(copay_amount, 0) >= 0 AND coalesce(waiting_period_days, 0) >= 0
    ),
    CONSTRAINT chk_plan_benefit_ages CHECK (age_limit_min IS NULL OR age_limit_max IS NULL OR age_limit_min <= age_limit_max),
    CONSTRAINT chk_plan_benefit_dates CHECK (expiration_date IS NULL OR expiration_date >= effective_date)
);

CREATE TABLE benefit_service.benefit_limitation (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_benefit_id UUID NOT NULL,
    limitation_type VARCHAR(50) NOT NULL,
    limit_value     DECIMAL(15,2) NOT NULL,
    period          VARCHAR(20) NOT NULL,
    description     TEXT,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_benefit_limitation_plan_benefit FOREIGN KEY (plan_benefit_id)
        REFERENCES benefit_service.plan_benefit (id),
    CONSTRAINT chk_benefit_limitation_type CHECK (limitation_type IN ('days', 'visits', 'amount')),
    CONSTRAINT chk_benefit_limitation_period CHECK (period IN ('per_incident', 'per_year', 'lifetime')),
    CONSTRAINT chk_benefit_limitation_value CHECK (limit_value >= 0)
);

CREATE INDEX idx_benefit_limitation_plan_benefit_id ON benefit_service.benefit_limitation (plan_benefit_id);

CREATE TABLE benefit_service.benefit_exclusion (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id               UUID NOT NULL,
    benefit_code          VARCHAR(50),
    diagnosis_code_prefix VARCHAR(10),
    procedure_code        VARCHAR(20),
    description           TEXT,
    effective_date        DATE NOT NULL,
    expiration_date       DATE,
    created_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_benefit_exclusion_target CHECK (diagnosis_code_prefix IS NOT NULL OR procedure_code IS NOT NULL),
    CONSTRAINT chk_benefit_exclusion_dates CHECK (expiration_date IS NULL OR expiration_date >= effective_date)
);

CREATE INDEX idx_benefit_exclusion_plan_id ON benefit_service.benefit_exclusion (plan_id);

CREATE TABLE benefit_service.cost_sharing (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_id         UUID NOT NULL,
    oop_max         DECIMAL(15,2),
    currency        CHAR(3) NOT NULL DEFAULT 'IDR',
    effective_date  DATE NOT NULL,
    expiration_date DATE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_cost_sharing_oop_max CHECK (oop_max IS NULL OR oop_max >= 0),
    CONSTRAINT chk_cost_sharing_dates CHECK (expiration_date IS NULL OR expiration_date >= effective_date)
);

CREATE INDEX idx_cost_sharing_plan_id ON benefit_service.cost_sharing (plan_id, effective_date);

CREATE TABLE benefit_service.accumulator (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    member_id       UUID NOT NULL,
    benefit_code    VARCHAR(50) NOT NULL,
    year            INTEGER NOT NULL,
    amount_used     DECIMAL(15,2) NOT NULL DEFAULT 0,
    deductible_used DECIMAL(15,2) NOT NULL DEFAULT 0,
    oop_used        DECIMAL(15,2) NOT NULL DEFAULT 0,
    visits_used     INTEGER NOT NULL DEFAULT 0,
    days_used       INTEGER NOT NULL DEFAULT 0,
    last_updated    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_accumulator UNIQUE (member_id, benefit_code, year),
    CONSTRAINT chk_accumulator_year CHECK (year BETWEEN 1900 AND 9999),
    CONSTRAINT chk_accumulator_non_negative CHECK (
        amount_used >= 0 AND deductible_used >= 0 AND oop_used >= 0 AND visits_used >= 0 AND days_used >= 0
    )
);

-- The seed's accumulator upsert, extended to every running total the rules keep.
CREATE FUNCTION benefit_service.update_accumulator(
    p_member_id UUID,
    p_benefit_code VARCHAR,
    p_amount DECIMAL,
    p_service_date DATE,
    p_deductible DECIMAL DEFAULT 0,
    p_oop DECIMAL DEFAULT 0,
    p_visits INTEGER DEFAULT 0,
    p_days INTEGER DEFAULT 0
)
RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO benefit_service.accumulator AS a (
        member_id, benefit_code, year, amount_used, deductible_used, oop_used,
        visits_used, days_used, last_updated
    ) VALUES (
        p_member_id, p_benefit_code, EXTRACT(YEAR FROM p_service_date)::int, p_amount,
        p_deductible, p_oop, p_visits, p_days, NOW()
    )
    ON CONFLICT (member_id, benefit_code, year) DO UPDATE SET
        amount_used = a.amount_used + EXCLUDED.amount_used,
        deductible_used = a.deductible_used + EXCLUDED.deductible_used,
        oop_used = a.oop_used + EXCLUDED.oop_used,
        visits_used = a.visits_used + EXCLUDED.visits_used,
        days_used = a.days_used + EXCLUDED.days_used,
        last_updated = NOW();
$$;

SELECT common.add_updated_at_triggers('benefit_service');
SELECT audit.enable_audit('benefit_service.plan_benefit');
SELECT audit.enable_audit('benefit_service.cost_sharing');
SELECT audit.enable_audit('benefit_service.accumulator');

GRANT USAGE ON SCHEMA benefit_service TO benefit_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA benefit_service TO benefit_service_user;
GRANT EXECUTE ON FUNCTION benefit_service.update_accumulator(UUID, VARCHAR, DECIMAL, DATE, DECIMAL, DECIMAL, INTEGER, INTEGER)
    TO benefit_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA benefit_service TO reporting_user;
