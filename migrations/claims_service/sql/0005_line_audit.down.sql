-- claims_service 0005 down: the full update audit of claim_item again.
SELECT audit.enable_audit('claims_service.claim_item');
