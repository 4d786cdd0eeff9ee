-- payment_service 0003: operators' retries of payments (issue 16).
--
-- A payment on the exception list (its last attempt failed or was returned) or held because
-- its batch was rejected goes back to `pending` for the next run only through an operator's
-- recorded retry: one payment_retry row per payment and the attempt it opens (insert-only,
-- row-audited: who, why, what the payment was), and a `pending` payment_event of source
-- `operator`. A payment held for bank details needs no retry: the next run releases it once
-- its payee has verified details.

ALTER TABLE payment_service.payment_event
    DROP CONSTRAINT chk_payment_event_source,
    ADD CONSTRAINT chk_payment_event_source CHECK (
        source IN ('run', 'bank', 'offset', 'approval', 'operator'));

CREATE TABLE payment_service.payment_retry (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id      UUID NOT NULL,
    attempt         INTEGER NOT NULL,
    previous_status VARCHAR(20) NOT NULL,
    previous_reason TEXT,
    retried_by      VARCHAR(100) NOT NULL,
    reason          VARCHAR(500) NOT NULL,
    retried_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_payment_retry_payment FOREIGN KEY (payment_id) REFERENCES payment_service.payment (id),
    CONSTRAINT uk_payment_retry UNIQUE (payment_id, attempt),
    CONSTRAINT chk_payment_retry_status CHECK (previous_status IN ('exception', 'held')),
    CONSTRAINT chk_payment_retry_attempt CHECK (attempt >= 2),
    CONSTRAINT chk_payment_retry_by CHECK (length(btrim(retried_by)) > 0),
    CONSTRAINT chk_payment_retry_reason CHECK (length(btrim(reason)) > 0)
);

CREATE INDEX idx_payment_status ON payment_service.payment (status)
    WHERE status IN ('held', 'exception');

SELECT audit.enable_audit('payment_service.payment_retry');

-- Insert-only for the service, readable for reporting.
REVOKE ALL ON payment_service.payment_retry FROM payment_service_user;
GRANT SELECT, INSERT ON payment_service.payment_retry TO payment_service_user;
GRANT SELECT ON payment_service.payment_retry TO reporting_user;
