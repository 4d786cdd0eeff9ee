-- authorization_service 0001: pre-authorizations.

CREATE TABLE authorization_service.authorization (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    authorization_number VARCHAR(50) UNIQUE NOT NULL,
    member_id            UUID NOT NULL,
    provider_id          UUID,
    benefit_code         VARCHAR(50) NOT NULL,
    diagnosis_code       VARCHAR(10),
    requested_amount     DECIMAL(15,2),
    status               VARCHAR(20) NOT NULL DEFAULT 'pending',
    valid_from           DATE NOT NULL,
    valid_to             DATE NOT NULL,
    requested_at         TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    decided_at           TIMESTAMP WITH TIME ZONE,
    decided_by           VARCHAR(100),
    notes                TEXT,
    created_at           TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at           TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_authorization_status CHECK (status IN ('approved', 'pending', 'denied')),
    CONSTRAINT chk_authorization_dates CHECK (valid_to >= valid_from),
    CONSTRAINT chk_authorization_amount CHECK (requested_amount IS NULL OR requested_amount >= 0)
);

CREATE INDEX idx_authorization_member_benefit ON authorization_service.authorization
    (member_id, benefit_code, valid_from) INCLUDE (status, valid_to, provider_id);
CREATE INDEX idx_authorization_pending ON authorization_service.authorization (requested_at)
    WHERE status = 'pending';

SELECT common.add_updated_at_triggers('authorization_service');
SELECT audit.enable_audit('authorization_service.authorization');

GRANT USAGE ON SCHEMA authorization_service TO authorization_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA authorization_service TO authorization_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA authorization_service TO reporting_user;
