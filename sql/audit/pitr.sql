-- name: pitr_fingerprint
-- Point-in-time recovery drill: the last audit row (its id and a digest of its content), read
-- on the live database at a restore point and on the recovered copy, which must agree. No
-- parameters; no row when the audit log is empty.
WITH last_audit AS (
    SELECT a.id, md5(to_jsonb(a)::text) AS digest
    FROM audit.audit_log AS a
    ORDER BY a.id DESC
    LIMIT 1
)
SELECT id AS last_audit_id, digest AS last_audit_digest
FROM last_audit
