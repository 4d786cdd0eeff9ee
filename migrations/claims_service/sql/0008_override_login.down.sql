-- claims_service 0008 down: overrides without the recorded login again (as 0004 and 0006 made
-- them); the logins recorded since go with the column.
DROP TRIGGER set_override_login ON claims_service.claim_item_override;
DROP FUNCTION claims_service.set_override_login();
ALTER TABLE archive.claim_item_override DROP COLUMN overridden_login;
ALTER TABLE claims_service.claim_item_override DROP COLUMN overridden_login;
