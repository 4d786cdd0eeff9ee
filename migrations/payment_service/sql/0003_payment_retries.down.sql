-- payment_service 0003 down: the operators' retries go (their payments' events stay).
DROP INDEX payment_service.idx_payment_status;
DROP TABLE payment_service.payment_retry;
DELETE FROM payment_service.payment_event WHERE source = 'operator';
ALTER TABLE payment_service.payment_event
    DROP CONSTRAINT chk_payment_event_source,
    ADD CONSTRAINT chk_payment_event_source CHECK (source IN ('run', 'bank', 'offset', 'approval'));
