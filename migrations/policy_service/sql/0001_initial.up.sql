-- policy_service 0001: plans and policies.

CREATE TABLE policy_service.plan (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    plan_code       VARCHAR(50) UNIQUE NOT NULL,
    plan_name       VARCHAR(255) NOT NULL,
    plan_type       VARCHAR(20) NOT NULL,
    tier            VARCHAR(30),
    status          VARCHAR(20) NOT NULL DEFAULT 'active',
    effective_date  DATE NOT NULL,
    expiration_date DATE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_plan_type CHECK (plan_type IN ('individual', 'family', 'group')),
    CONSTRAINT chk_plan_status CHECK (status IN ('active', 'inactive', 'retired')),
    CONSTRAINT chk_plan_dates CHECK (expiration_date IS NULL OR expiration_date >= effective_date)
);

CREATE TABLE policy_service.policy (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    policy_number     VARCHAR(50) UNIQUE NOT NULL,
    plan_id           UUID NOT NULL,
    policyholder_type VARCHAR(20) NOT NULL,
    policyholder_name VARCHAR(255) NOT NULL,
    status            VARCHAR(20) NOT NULL DEFAULT 'active',
    effective_date    DATE NOT NULL,
    expiration_date   DATE,
    premium_amount    DECIMAL(15,2) NOT NULL DEFAULT 0,
    premium_frequency VARCHAR(20) NOT NULL DEFAULT 'monthly',
    currency          CHAR(3) NOT NULL DEFAULT 'IDR',
    created_at        TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at        TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_policy_plan FOREIGN KEY (plan_id) REFERENCES policy_service.plan (id),
    CONSTRAINT chk_policy_holder_type CHECK (policyholder_type IN ('individual', 'corporate')),
    CONSTRAINT chk_policy_status CHECK (status IN ('active', 'lapsed', 'cancelled', 'expired')),
    CONSTRAINT chk_policy_premium CHECK (premium_amount >= 0),
    CONSTRAINT chk_policy_frequency CHECK (premium_frequency IN ('monthly', 'quarterly', 'annual')),
    CONSTRAINT chk_policy_dates CHECK (expiration_date IS NULL OR expiration_date >= effective_date)
);

CREATE INDEX idx_policy_plan_id ON policy_service.policy (plan_id);
CREATE INDEX idx_policy_status ON policy_service.policy (status);

SELECT common.add_updated_at_triggers('policy_service');
SELECT audit.enable_audit('policy_service.plan');
SELECT audit.enable_audit('policy_service.policy');

GRANT USAGE ON SCHEMA policy_service TO policy_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA policy_service TO policy_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA policy_service TO reporting_user;
