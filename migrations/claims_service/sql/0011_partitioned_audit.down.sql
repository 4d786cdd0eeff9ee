-- claims_service 0011, down: claim_partitioned without row audit, as after 0010.
DROP TRIGGER audit_insert ON claims_service.claim_partitioned;
DROP TRIGGER audit_update ON claims_service.claim_partitioned;
DROP TRIGGER audit_delete ON claims_service.claim_partitioned;
