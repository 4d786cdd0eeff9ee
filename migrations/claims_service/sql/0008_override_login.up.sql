-- claims_service 0008: who wrote a reviewer's override, as PostgreSQL authenticated them.
-- overridden_by is the name a reviewer gives (`claims-askes override --by`), free text; next
-- to it, overridden_login is the session user of the connection that wrote the row, set by
-- the database on every insert and on every change of the decision, whatever the writer
-- sends. Overrides written before this migration keep NULL (their login was not recorded).
-- The archive keeps the column too (archive_claim_records moves the source's columns by name).

ALTER TABLE claims_service.claim_item_override ADD COLUMN overridden_login TEXT;
ALTER TABLE archive.claim_item_override ADD COLUMN overridden_login TEXT;

COMMENT ON COLUMN claims_service.claim_item_override.overridden_login IS
    'session_user of the connection that wrote the decision (set by trigger); NULL before 0008';

CREATE FUNCTION claims_service.set_override_login()
RETURNS TRIGGER
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.overridden_login := session_user;
    RETURN NEW;
END;
$$;

REVOKE ALL ON FUNCTION claims_service.set_override_login() FROM PUBLIC;

CREATE TRIGGER set_override_login
    BEFORE INSERT OR UPDATE OF decision, approved_amount, reason_code, note, overridden_by,
        overridden_login
    ON claims_service.claim_item_override
    FOR EACH ROW EXECUTE FUNCTION claims_service.set_override_login();
