DROP TABLE IF EXISTS payment_service.payment, payment_service.payment_batch;
