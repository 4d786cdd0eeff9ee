-- provider_service 0003: the bank account a provider is paid to (issue 16).
-- The account number is encrypted by the application (AES-GCM, key CLAIMS_ASKES_BANK_KEY or
-- a Prefect Secret block: the server has no pgcrypto) and decrypted only to write a bank
-- file. Every reader sees account_masked (the last four digits); reporting_user may not
-- read the ciphertext column at all. Row-audited like its neighbours (the audit rows hold
-- the ciphertext, never the number).

CREATE TABLE provider_service.provider_bank_account (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id          UUID NOT NULL UNIQUE,
    bank_bic           VARCHAR(11) NOT NULL,
    bank_name          VARCHAR(100) NOT NULL,
    account_holder     VARCHAR(255) NOT NULL,
    account_ciphertext BYTEA NOT NULL,
    account_masked     VARCHAR(30) NOT NULL,
    key_id             VARCHAR(20) NOT NULL,
    status             VARCHAR(20) NOT NULL DEFAULT 'verified',
    created_at         TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at         TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_provider_bank_account_provider FOREIGN KEY (provider_id)
        REFERENCES provider_service.provider (id),
    CONSTRAINT chk_provider_bank_account_bic CHECK (bank_bic ~ '^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$'),
    CONSTRAINT chk_provider_bank_account_masked CHECK (account_masked ~ '^\*+[0-9]{4}$'),
    CONSTRAINT chk_provider_bank_account_status CHECK (status IN ('verified', 'unverified', 'closed'))
);

SELECT common.add_updated_at_triggers('provider_service');
SELECT audit.enable_audit('provider_service.provider_bank_account');

REVOKE ALL ON provider_service.provider_bank_account FROM provider_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE ON provider_service.provider_bank_account TO provider_service_user;
GRANT SELECT (provider_id, bank_bic, bank_name, account_masked, status, created_at, updated_at)
    ON provider_service.provider_bank_account TO reporting_user;
