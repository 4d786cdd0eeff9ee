-- payment_service 0001: payment batches and payments to providers and members.

CREATE TABLE payment_service.payment_batch (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    batch_number   VARCHAR(50) UNIQUE NOT NULL,
    payment_method VARCHAR(20) NOT NULL DEFAULT 'bank_transfer',
    status         VARCHAR(20) NOT NULL DEFAULT 'draft',
    total_amount   DECIMAL(15,2) NOT NULL DEFAULT 0,
    payment_count  INTEGER NOT NULL DEFAULT 0,
    scheduled_date DATE,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_payment_batch_method CHECK (payment_method IN ('bank_transfer', 'virtual_account', 'e_wallet')),
    CONSTRAINT chk_payment_batch_status CHECK (status IN ('draft', 'approved', 'sent', 'completed', 'failed')),
    CONSTRAINT chk_payment_batch_totals CHECK (total_amount >= 0 AND payment_count >= 0)
);

CREATE TABLE payment_service.payment (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    batch_id            UUID,
    claim_id            UUID NOT NULL,
    claim_payment_id    UUID UNIQUE NOT NULL,
    payee_type          VARCHAR(20) NOT NULL,
    payee_id            UUID NOT NULL,
    payee_name          VARCHAR(255),
    bank_code           VARCHAR(10),
    bank_account_masked VARCHAR(30),
    amount              DECIMAL(15,2) NOT NULL,
    currency            CHAR(3) NOT NULL DEFAULT 'IDR',
    status              VARCHAR(20) NOT NULL DEFAULT 'pending',
    reference_number    VARCHAR(50),
    paid_at             TIMESTAMP WITH TIME ZONE,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_payment_payment_batch FOREIGN KEY (batch_id) REFERENCES payment_service.payment_batch (id),
    CONSTRAINT chk_payment_payee CHECK (payee_type IN ('provider', 'member')),
    CONSTRAINT chk_payment_amount CHECK (amount > 0),
    CONSTRAINT chk_payment_status CHECK (status IN ('pending', 'sent', 'paid', 'failed', 'returned'))
);

CREATE INDEX idx_payment_batch_id ON payment_service.payment (batch_id);
CREATE INDEX idx_payment_claim_id ON payment_service.payment (claim_id);
CREATE INDEX idx_payment_pending ON payment_service.payment (created_at) WHERE status = 'pending';

SELECT common.add_updated_at_triggers('payment_service');
SELECT audit.enable_audit('payment_service.payment_batch');
SELECT audit.enable_audit('payment_service.payment');

GRANT USAGE ON SCHEMA payment_service TO payment_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA payment_service TO payment_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA payment_service TO reporting_user;
