DROP TABLE payment_service.payment_offset, payment_service.payee_offset,
    payment_service.bank_response_error, payment_service.bank_response_file,
    payment_service.bank_file, payment_service.batch_approval, payment_service.payment_event;
DROP INDEX payment_service.idx_payment_unsynced, payment_service.idx_payment_payee;
GRANT DELETE ON payment_service.payment, payment_service.payment_batch TO payment_service_user;
ALTER TABLE payment_service.payment
    DROP CONSTRAINT uk_payment_end_to_end, DROP CONSTRAINT chk_payment_attempt,
    DROP CONSTRAINT chk_payment_held, DROP CONSTRAINT chk_payment_offset,
    DROP CONSTRAINT chk_payment_kind, DROP CONSTRAINT chk_payment_status,
    DROP COLUMN claim_synced_at, DROP COLUMN bank_status_time, DROP COLUMN hold_reason,
    DROP COLUMN offset_amount, DROP COLUMN attempt, DROP COLUMN end_to_end_id,
    DROP COLUMN readjustment_id, DROP COLUMN claim_number, DROP COLUMN kind,
    ADD CONSTRAINT chk_payment_status CHECK (status IN ('pending', 'sent', 'paid', 'failed', 'returned'));
ALTER TABLE payment_service.payment_batch
    DROP CONSTRAINT uk_payment_batch_message, DROP CONSTRAINT chk_payment_batch_net,
    DROP CONSTRAINT chk_payment_batch_payee, DROP CONSTRAINT chk_payment_batch_status,
    DROP COLUMN completed_at, DROP COLUMN sent_at, DROP COLUMN csv_sha256,
    DROP COLUMN pain001_sha256, DROP COLUMN approval_required, DROP COLUMN flow_run_id,
    DROP COLUMN message_id, DROP COLUMN offset_amount, DROP COLUMN gross_amount,
    DROP COLUMN value_date, DROP COLUMN payee_type,
    ADD CONSTRAINT chk_payment_batch_status CHECK (status IN ('draft', 'approved', 'sent', 'completed', 'failed'));
