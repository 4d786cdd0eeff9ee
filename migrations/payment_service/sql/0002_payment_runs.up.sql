-- payment_service 0002: payment runs (issue 16).
--
-- A payment is a claim_payment of the claims service, copied here once (claim_payment_id is
-- unique) with its payee's name and masked account. It goes pending -> batched (in a draft
-- batch) -> sent (in the bank file) -> paid | failed | returned (the bank's answer). A failed
-- or returned payment goes back to pending for a later batch with its attempt counted, up to
-- the run's limit, then to `exception`. A payee without valid bank details is `held`, with the
-- reason, and never sent. An overpayment is a payee_offset, taken from the payee's next
-- payments (payment_offset) or listed for `recovery` when nothing is due.
-- Records whose history matters are insert-only for the service: payment_event (every status a
-- payment passed, with the bank's reference), batch_approval, bank_file, bank_response_file,
-- bank_response_error, payment_offset. Every table is row-audited.

ALTER TABLE payment_service.payment_batch
    ADD COLUMN payee_type       VARCHAR(20),
    ADD COLUMN value_date       DATE,
    ADD COLUMN gross_amount     DECIMAL(15,2) NOT NULL DEFAULT 0,
    ADD COLUMN offset_amount    DECIMAL(15,2) NOT NULL DEFAULT 0,
    ADD COLUMN message_id       VARCHAR(35),
    ADD COLUMN flow_run_id      UUID,
    ADD COLUMN approval_required BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN pain001_sha256   CHAR(64),
    ADD COLUMN csv_sha256       CHAR(64),
    ADD COLUMN sent_at          TIMESTAMP WITH TIME ZONE,
    ADD COLUMN completed_at     TIMESTAMP WITH TIME ZONE,
    DROP CONSTRAINT chk_payment_batch_status,
    ADD CONSTRAINT chk_payment_batch_status CHECK (
        status IN ('draft', 'approved', 'rejected', 'sent', 'completed', 'failed')),
    ADD CONSTRAINT chk_payment_batch_payee CHECK (payee_type IN ('provider', 'member')),
    ADD CONSTRAINT chk_payment_batch_net CHECK (
        offset_amount >= 0 AND total_amount = gross_amount - offset_amount),
    ADD CONSTRAINT uk_payment_batch_message UNIQUE (message_id);

ALTER TABLE payment_service.payment
    ADD COLUMN kind            VARCHAR(20) NOT NULL DEFAULT 'claim',
    ADD COLUMN claim_number    VARCHAR(50),
    ADD COLUMN readjustment_id UUID,
    ADD COLUMN end_to_end_id   VARCHAR(35),
    ADD COLUMN attempt         INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN offset_amount   DECIMAL(15,2) NOT NULL DEFAULT 0,
    ADD COLUMN hold_reason     TEXT,
    ADD COLUMN bank_status_time TIMESTAMP WITH TIME ZONE,
    ADD COLUMN claim_synced_at TIMESTAMP WITH TIME ZONE,
    DROP CONSTRAINT chk_payment_status,
    ADD CONSTRAINT chk_payment_status CHECK (status IN
        ('pending', 'held', 'batched', 'sent', 'paid', 'failed', 'returned', 'exception')),
    ADD CONSTRAINT chk_payment_kind CHECK (kind IN ('claim', 'supplementary')),
    ADD CONSTRAINT chk_payment_offset CHECK (offset_amount >= 0 AND offset_amount <= amount),
    ADD CONSTRAINT chk_payment_held CHECK ((status = 'held') = (hold_reason IS NOT NULL)),
    ADD CONSTRAINT chk_payment_attempt CHECK (attempt >= 1),
    ADD CONSTRAINT uk_payment_end_to_end UNIQUE (end_to_end_id);

CREATE INDEX idx_payment_payee ON payment_service.payment (payee_type, payee_id);
CREATE INDEX idx_payment_unsynced ON payment_service.payment (id)
    WHERE claim_synced_at IS NULL AND status = 'paid';

CREATE TABLE payment_service.payment_event (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id       UUID NOT NULL,
    batch_id         UUID,
    attempt          INTEGER NOT NULL,
    end_to_end_id    VARCHAR(35),
    status           VARCHAR(20) NOT NULL,
    amount           DECIMAL(15,2),
    bank_reference   VARCHAR(60),
    status_time      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    reason_code      VARCHAR(20),
    source           VARCHAR(20) NOT NULL,
    response_sha256  CHAR(64),
    recorded_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_payment_event_payment FOREIGN KEY (payment_id) REFERENCES payment_service.payment (id),
    CONSTRAINT fk_payment_event_batch FOREIGN KEY (batch_id) REFERENCES payment_service.payment_batch (id),
    CONSTRAINT uk_payment_event UNIQUE (payment_id, attempt, status),
    CONSTRAINT chk_payment_event_source CHECK (source IN ('run', 'bank', 'offset', 'approval'))
);
CREATE INDEX idx_payment_event_batch ON payment_service.payment_event (batch_id);

CREATE TABLE payment_service.batch_approval (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id    UUID NOT NULL,
    decision    VARCHAR(10) NOT NULL,
    decided_by  VARCHAR(100) NOT NULL,
    comment     TEXT,
    source      VARCHAR(10) NOT NULL,
    flow_run_id UUID,
    decided_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_batch_approval_batch FOREIGN KEY (batch_id) REFERENCES payment_service.payment_batch (id),
    CONSTRAINT uk_batch_approval_batch UNIQUE (batch_id),
    CONSTRAINT chk_batch_approval_decision CHECK (decision IN ('approve', 'reject')),
    CONSTRAINT chk_batch_approval_source CHECK (source IN ('auto', 'ui', 'cli')),
    CONSTRAINT chk_batch_approval_by CHECK (length(btrim(decided_by)) > 0)
);

CREATE TABLE payment_service.bank_file (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id   UUID NOT NULL,
    format     VARCHAR(20) NOT NULL,
    file_name  VARCHAR(255) NOT NULL,
    sha256     CHAR(64) NOT NULL,
    size_bytes BIGINT NOT NULL,
    written_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_bank_file_batch FOREIGN KEY (batch_id) REFERENCES payment_service.payment_batch (id),
    CONSTRAINT uk_bank_file UNIQUE (batch_id, format),
    CONSTRAINT chk_bank_file_format CHECK (format IN ('pain.001', 'csv'))
);

CREATE TABLE payment_service.bank_response_file (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      CHAR(64) NOT NULL UNIQUE,
    file_name   VARCHAR(255) NOT NULL,
    kind        VARCHAR(20) NOT NULL,
    entries     INTEGER NOT NULL,
    applied     INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    flow_run_id UUID,
    imported_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE TABLE payment_service.bank_response_error (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      CHAR(64) NOT NULL,
    entry       VARCHAR(100) NOT NULL,
    message     TEXT NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_bank_response_error_file FOREIGN KEY (sha256)
        REFERENCES payment_service.bank_response_file (sha256)
);

CREATE TABLE payment_service.payee_offset (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    readjustment_id UUID NOT NULL,
    claim_id        UUID NOT NULL,
    payee_type      VARCHAR(20) NOT NULL,
    payee_id        UUID NOT NULL,
    amount          DECIMAL(15,2) NOT NULL,
    applied_amount  DECIMAL(15,2) NOT NULL DEFAULT 0,
    status          VARCHAR(20) NOT NULL DEFAULT 'open',
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_payee_offset_readjustment UNIQUE (readjustment_id),
    CONSTRAINT chk_payee_offset_payee CHECK (payee_type IN ('provider', 'member')),
    CONSTRAINT chk_payee_offset_amount CHECK (amount > 0 AND applied_amount >= 0 AND applied_amount <= amount),
    CONSTRAINT chk_payee_offset_status CHECK (status IN ('open', 'applied', 'recovery'))
);
CREATE INDEX idx_payee_offset_open ON payment_service.payee_offset (payee_type, payee_id)
    WHERE status IN ('open', 'recovery');

CREATE TABLE payment_service.payment_offset (
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    payment_id UUID NOT NULL,
    offset_id  UUID NOT NULL,
    amount     DECIMAL(15,2) NOT NULL,
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT pk_payment_offset PRIMARY KEY (payment_id, offset_id),
    CONSTRAINT fk_payment_offset_payment FOREIGN KEY (payment_id) REFERENCES payment_service.payment (id),
    CONSTRAINT fk_payment_offset_offset FOREIGN KEY (offset_id) REFERENCES payment_service.payee_offset (id),
    CONSTRAINT chk_payment_offset_amount CHECK (amount > 0)
);

SELECT common.add_updated_at_triggers('payment_service');
SELECT audit.enable_audit('payment_service.payment_event');
SELECT audit.enable_audit('payment_service.batch_approval');
SELECT audit.enable_audit('payment_service.bank_file');
SELECT audit.enable_audit('payment_service.bank_response_file');
SELECT audit.enable_audit('payment_service.bank_response_error');
SELECT audit.enable_audit('payment_service.payee_offset');
SELECT audit.enable_audit('payment_service.payment_offset');

-- Insert-only records: the service inserts and reads, never changes or deletes.
REVOKE ALL ON payment_service.payment_event, payment_service.batch_approval,
    payment_service.bank_file, payment_service.bank_response_file,
    payment_service.bank_response_error, payment_service.payment_offset
    FROM payment_service_user;
GRANT SELECT, INSERT ON payment_service.payment_event, payment_service.batch_approval,
    payment_service.bank_file, payment_service.bank_response_file,
    payment_service.bank_response_error, payment_service.payment_offset
    TO payment_service_user;
REVOKE DELETE ON payment_service.payment, payment_service.payment_batch FROM payment_service_user;
GRANT SELECT, INSERT, UPDATE ON payment_service.payee_offset TO payment_service_user;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA payment_service TO payment_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA payment_service TO reporting_user;
