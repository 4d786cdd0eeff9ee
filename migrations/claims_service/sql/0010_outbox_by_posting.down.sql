-- claims_service 0010 down: the claims service deletes posting_outbox rows itself again, as
-- 0007 granted; no mark_lines_posted() and no record of its calls.
DROP FUNCTION claims_service.mark_lines_posted(UUID[], INTEGER[]);
DROP TABLE audit.posting_outbox_release;
GRANT DELETE ON claims_service.posting_outbox TO claims_service_user;
