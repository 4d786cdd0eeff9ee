-- claims_service 0011: row audit (old and new content) of claims_service.claim_partitioned.
-- The statement-level triggers sit on the partitioned table, so they see every row written
-- through it, whichever month's partition holds the row.
SELECT audit.enable_audit('claims_service.claim_partitioned');
