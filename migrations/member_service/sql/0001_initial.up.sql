-- member_service 0001: members, coverages, dependents, cards, eligibility snapshots,
-- check_eligibility (rules R2-R3 of docs/adjudication.md), views and row-level security.

CREATE TABLE member_service.member (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    member_number   VARCHAR(50) UNIQUE NOT NULL,
    first_name      VARCHAR(100) NOT NULL,
    last_name       VARCHAR(100) NOT NULL,
    middle_name     VARCHAR(100),
    date_of_birth   DATE NOT NULL,
    gender          VARCHAR(10) NOT NULL,
    national_id     VARCHAR(20) UNIQUE,
    passport_number VARCHAR(20),
    email           VARCHAR(255),
    phone           VARCHAR(20),
    mobile          VARCHAR(20),
    address_line1   VARCHAR(255),
    address_line2   VARCHAR(255),
    city            VARCHAR(100),
    state_province  VARCHAR(100),
    postal_code     VARCHAR(20),
    country         VARCHAR(2) DEFAULT 'ID',
    status          VARCHAR(20) NOT NULL DEFAULT 'active',
    enrollment_date DATE NOT NULL,
    termination_date DATE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_member_age CHECK (date_of_birth < CURRENT_DATE),
    CONSTRAINT chk_member_gender CHECK (gender IN ('M', 'F', 'O')),
    CONSTRAINT chk_member_status CHECK (status IN ('active', 'suspended', 'terminated')),
    CONSTRAINT chk_member_dates CHECK (termination_date IS NULL OR termination_date >= enrollment_date),
    -- NIK: 16 digits (Nomor Induk Kependudukan).
    CONSTRAINT chk_member_national_id CHECK (national_id ~ '^[0-9]{16}$')
);

CREATE INDEX idx_member_status ON member_service.member (status);
CREATE INDEX idx_member_name ON member_service.member (last_name, first_name);

CREATE TABLE member_service.member_coverage (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    member_id        UUID NOT NULL,
    policy_id        UUID NOT NULL,
    plan_id          UUID NOT NULL,
    coverage_level   VARCHAR(20) NOT NULL,
    effective_date   DATE NOT NULL,
    termination_date DATE,
    status           VARCHAR(20) NOT NULL DEFAULT 'active',
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_member_coverage_member FOREIGN KEY (member_id) REFERENCES member_service.member (id),
    CONSTRAINT chk_member_coverage_level CHECK (coverage_level IN ('individual', 'employee', 'spouse', 'child', 'family')),
    CONSTRAINT chk_member_coverage_status CHECK (status IN ('active', 'terminated', 'cancelled')),
    CONSTRAINT chk_member_coverage_dates CHECK (termination_date IS NULL OR termination_date >= effective_date)
);

CREATE INDEX idx_member_coverage_member_id ON member_service.member_coverage (member_id, effective_date)
    INCLUDE (plan_id, policy_id, status, termination_date);
CREATE INDEX idx_member_coverage_plan_id ON member_service.member_coverage (plan_id);

CREATE TABLE member_service.member_dependent (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    member_id           UUID NOT NULL,
    dependent_member_id UUID NOT NULL,
    relationship        VARCHAR(20) NOT NULL,
    effective_date      DATE NOT NULL,
    termination_date    DATE,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_member_dependent_member FOREIGN KEY (member_id) REFERENCES member_service.member (id),
    CONSTRAINT fk_member_dependent_dependent FOREIGN KEY (dependent_member_id) REFERENCES member_service.member (id),
    CONSTRAINT uk_member_dependent UNIQUE (member_id, dependent_member_id),
    CONSTRAINT chk_member_dependent_self CHECK (member_id <> dependent_member_id),
    CONSTRAINT chk_member_dependent_relationship CHECK (relationship IN ('spouse', 'child', 'parent', 'other'))
);

CREATE INDEX idx_member_dependent_dependent_member_id ON member_service.member_dependent (dependent_member_id);

CREATE TABLE member_service.member_card (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    member_id   UUID NOT NULL,
    card_number VARCHAR(30) UNIQUE NOT NULL,
    card_type   VARCHAR(20) NOT NULL DEFAULT 'digital',
    issue_date  DATE NOT NULL,
    expiry_date DATE,
    status      VARCHAR(20) NOT NULL DEFAULT 'active',
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_member_card_member FOREIGN KEY (member_id) REFERENCES member_service.member (id),
    CONSTRAINT chk_member_card_type CHECK (card_type IN ('physical', 'digital')),
    CONSTRAINT chk_member_card_status CHECK (status IN ('active', 'lost', 'expired', 'revoked'))
);

CREATE INDEX idx_member_card_member_id ON member_service.member_card (member_id);

CREATE TABLE member_service.member_eligibility (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id                 UUID NOT NULL,
    as_of_date                DATE NOT NULL,
    is_eligible               BOOLEAN NOT NULL,
    reason                    VARCHAR(40) NOT NULL,
    coverage_id               UUID,
    plan_id                   UUID,
    coverage_effective_date   DATE,
    coverage_termination_date DATE,
    flow_run_id               UUID,
    checked_at                TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_member_eligibility_member FOREIGN KEY (member_id) REFERENCES member_service.member (id),
    CONSTRAINT uk_member_eligibility UNIQUE (member_id, as_of_date)
);

CREATE INDEX idx_member_eligibility_as_of_date ON member_service.member_eligibility (as_of_date, is_eligible);

-- Rules R2-R3: enrolled on the date and not suspended; then the covering coverage
-- (active or terminated, never cancelled) with the latest effective_date. The seed's version
-- took the newest coverage even when an older one covered the date. p_service_type is kept
-- for the seed's signature; eligibility does not depend on it.
CREATE FUNCTION member_service.check_eligibility(
    p_member_id UUID,
    p_service_date DATE,
    p_service_type VARCHAR DEFAULT NULL
)
RETURNS TABLE (is_eligible BOOLEAN, reason VARCHAR, coverage_details JSONB)
LANGUAGE sql STABLE AS $$
    WITH the_member AS (
        SELECT m.id,
               m.status <> 'suspended'
               AND m.enrollment_date <= p_service_date
               AND (m.termination_date IS NULL OR p_service_date <= m.termination_date) AS enrolled
        FROM member_service.member AS m
        WHERE m.id = p_member_id
    ),
    covering AS (
        SELECT mc.*
        FROM member_service.member_coverage AS mc
        WHERE mc.member_id = p_member_id
          AND mc.status IN ('active', 'terminated')
          AND mc.effective_date <= p_service_date
          AND (mc.termination_date IS NULL OR p_service_date <= mc.termination_date)
        ORDER BY mc.effective_date DESC, mc.id DESC
        LIMIT 1
    ),
    first_coverage AS (
        SELECT min(mc.effective_date) AS first_effective
        FROM member_service.member_coverage AS mc
        WHERE mc.member_id = p_member_id AND mc.status <> 'cancelled'
    )
    SELECT
        coalesce(tm.enrolled, FALSE) AND c.id IS NOT NULL,
        (CASE
            WHEN tm.id IS NULL OR NOT tm.enrolled THEN 'MEMBER_NOT_ELIGIBLE'
            WHEN c.id IS NOT NULL THEN 'ELIGIBLE'
            WHEN fc.first_effective > p_service_date THEN 'COVERAGE_NOT_STARTED'
            ELSE 'COVERAGE_TERMINATED'
        END)::VARCHAR,
        CASE WHEN c.id IS NOT NULL THEN jsonb_build_object(
            'coverage_id', c.id,
            'policy_id', c.policy_id,
            'plan_id', c.plan_id,
            'coverage_level', c.coverage_level,
            'effective_date', c.effective_date,
            'termination_date', c.termination_date
        ) END
    FROM (SELECT 1) AS one
    LEFT JOIN the_member AS tm ON TRUE
    LEFT JOIN covering AS c ON TRUE
    CROSS JOIN first_coverage AS fc;
$$;

-- Today's eligibility of every member, by the same rules as check_eligibility.
CREATE VIEW member_service.v_member_eligibility AS
SELECT
    m.id,
    m.member_number,
    m.first_name || ' ' || m.last_name AS full_name,
    e.coverage_details ->> 'plan_id' AS plan_id,
    e.coverage_details ->> 'coverage_level' AS coverage_level,
    (e.coverage_details ->> 'effective_date')::date AS effective_date,
    (e.coverage_details ->> 'termination_date')::date AS termination_date,
    CASE WHEN e.is_eligible THEN 'eligible' ELSE 'not_eligible' END AS eligibility_status,
    e.reason
FROM member_service.member AS m
CROSS JOIN LATERAL member_service.check_eligibility(m.id, CURRENT_DATE) AS e;

-- What reporting may see of a member: the national ID masked, no contact details.
CREATE VIEW member_service.v_member_masked WITH (security_barrier) AS
SELECT
    m.id,
    m.member_number,
    m.first_name,
    m.last_name,
    m.date_of_birth,
    m.gender,
    common.mask_national_id(m.national_id) AS national_id,
    m.city,
    m.state_province,
    m.status,
    m.enrollment_date,
    m.termination_date
FROM member_service.member AS m;

-- Row-level security, with real policies. A session declares its purpose:
--   claims_askes.access = 'batch'      batch jobs of the member service: every member;
--   claims_askes.member_id = '<uuid>'  a member-facing session: that member alone;
-- a session that declares nothing sees and changes nobody. Members are never deleted
-- (they are terminated), so no policy allows DELETE.
ALTER TABLE member_service.member ENABLE ROW LEVEL SECURITY;

CREATE POLICY member_select ON member_service.member
    FOR SELECT TO member_service_user
    USING (current_setting('claims_askes.access', true) = 'batch'
           OR id::text = current_setting('claims_askes.member_id', true));

CREATE POLICY member_insert ON member_service.member
    FOR INSERT TO member_service_user
    WITH CHECK (current_setting('claims_askes.access', true) = 'batch');

CREATE POLICY member_update ON member_service.member
    FOR UPDATE TO member_service_user
    USING (current_setting('claims_askes.access', true) = 'batch')
    WITH CHECK (current_setting('claims_askes.access', true) = 'batch');

SELECT common.add_updated_at_triggers('member_service');
SELECT audit.enable_audit('member_service.member');
SELECT audit.enable_audit('member_service.member_coverage');
SELECT audit.enable_audit('member_service.member_card');

GRANT USAGE ON SCHEMA member_service TO member_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA member_service TO member_service_user;
REVOKE DELETE ON member_service.member FROM member_service_user;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA member_service TO member_service_user;
GRANT EXECUTE ON FUNCTION member_service.check_eligibility(UUID, DATE, VARCHAR) TO member_service_user;
-- Reporting: everything but the member table itself, which it reads through the masked view.
GRANT SELECT ON member_service.member_coverage, member_service.member_dependent,
    member_service.member_card, member_service.member_eligibility,
    member_service.v_member_masked TO reporting_user;
