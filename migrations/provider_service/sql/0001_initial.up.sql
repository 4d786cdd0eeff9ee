-- provider_service 0001: providers, facilities, specialties, contracts, fee schedules.

CREATE TABLE provider_service.provider (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_code VARCHAR(30) UNIQUE NOT NULL,
    name          VARCHAR(255) NOT NULL,
    provider_type VARCHAR(30) NOT NULL,
    tax_id        VARCHAR(20),
    phone         VARCHAR(20),
    email         VARCHAR(255),
    status        VARCHAR(20) NOT NULL DEFAULT 'active',
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_provider_type CHECK (provider_type IN
        ('hospital', 'clinic', 'puskesmas', 'laboratory', 'pharmacy', 'specialist', 'dentist', 'optical')),
    CONSTRAINT chk_provider_status CHECK (status IN ('active', 'inactive', 'suspended', 'terminated'))
);

CREATE INDEX idx_provider_type ON provider_service.provider (provider_type);

CREATE TABLE provider_service.provider_facility (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id    UUID NOT NULL,
    facility_name  VARCHAR(255) NOT NULL,
    address_line1  VARCHAR(255),
    city           VARCHAR(100),
    state_province VARCHAR(100),
    postal_code    VARCHAR(20),
    bed_count      INTEGER,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_provider_facility_provider FOREIGN KEY (provider_id) REFERENCES provider_service.provider (id),
    CONSTRAINT chk_provider_facility_beds CHECK (bed_count IS NULL OR bed_count >= 0)
);

CREATE INDEX idx_provider_facility_provider_id ON provider_service.provider_facility (provider_id);

CREATE TABLE provider_service.provider_specialty (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id    UUID NOT NULL,
    specialty_code VARCHAR(30) NOT NULL,
    specialty_name VARCHAR(255) NOT NULL,
    is_primary     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_provider_specialty_provider FOREIGN KEY (provider_id) REFERENCES provider_service.provider (id),
    CONSTRAINT uk_provider_specialty UNIQUE (provider_id, specialty_code)
);

CREATE TABLE provider_service.provider_contract (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id      UUID NOT NULL,
    contract_number  VARCHAR(50) UNIQUE NOT NULL,
    network_status   VARCHAR(20) NOT NULL,
    effective_date   DATE NOT NULL,
    termination_date DATE,
    status           VARCHAR(20) NOT NULL DEFAULT 'active',
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_provider_contract_provider FOREIGN KEY (provider_id) REFERENCES provider_service.provider (id),
    CONSTRAINT chk_provider_contract_network CHECK (network_status IN ('in_network', 'out_of_network')),
    CONSTRAINT chk_provider_contract_status CHECK (status IN ('active', 'terminated')),
    CONSTRAINT chk_provider_contract_dates CHECK (termination_date IS NULL OR termination_date >= effective_date)
);

CREATE INDEX idx_provider_contract_provider_id ON provider_service.provider_contract (provider_id, effective_date)
    INCLUDE (network_status, status, termination_date);

CREATE TABLE provider_service.provider_fee_schedule (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id     UUID NOT NULL,
    procedure_code  VARCHAR(20) NOT NULL,
    allowed_amount  DECIMAL(15,2) NOT NULL,
    effective_date  DATE NOT NULL,
    expiration_date DATE,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_provider_fee_schedule_provider FOREIGN KEY (provider_id) REFERENCES provider_service.provider (id),
    CONSTRAINT chk_provider_fee_schedule_amount CHECK (allowed_amount >= 0),
    CONSTRAINT chk_provider_fee_schedule_dates CHECK (expiration_date IS NULL OR expiration_date >= effective_date)
);

CREATE INDEX idx_provider_fee_schedule_lookup ON provider_service.provider_fee_schedule
    (provider_id, procedure_code, effective_date) INCLUDE (allowed_amount, expiration_date);

SELECT common.add_updated_at_triggers('provider_service');
SELECT audit.enable_audit('provider_service.provider');
SELECT audit.enable_audit('provider_service.provider_contract');
SELECT audit.enable_audit('provider_service.provider_fee_schedule');

GRANT USAGE ON SCHEMA provider_service TO provider_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA provider_service TO provider_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA provider_service TO reporting_user;
