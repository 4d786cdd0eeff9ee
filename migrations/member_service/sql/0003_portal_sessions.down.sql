-- member_service 0003 undone: the policies by declared setting again. The role
-- member_portal_user is cluster-wide and kept (it loses every right here).

DROP POLICY member_portal_select ON member_service.member;
DROP POLICY member_batch_select ON member_service.member;
DROP POLICY member_batch_insert ON member_service.member;
DROP POLICY member_batch_update ON member_service.member;
REVOKE ALL ON member_service.member FROM member_portal_user;
REVOKE ALL ON SCHEMA member_service FROM member_portal_user;

CREATE POLICY member_select ON member_service.member
    FOR SELECT TO member_service_user
    USING (current_setting('claims_askes.access', true) = 'batch'
           OR id::text = current_setting('claims_askes.member_id', true));

CREATE POLICY member_insert ON member_service.member
    FOR INSERT TO member_service_user
    WITH CHECK (current_setting('claims_askes.access', true) = 'batch');

CREATE POLICY member_update ON member_service.member
    FOR UPDATE TO member_service_user
    USING (current_setting('claims_askes.access', true) = 'batch')
    WITH CHECK (current_setting('claims_askes.access', true) = 'batch');

DROP FUNCTION member_service.bind_member_session(TEXT);
DROP FUNCTION member_service.bound_member();
DROP SCHEMA member_service_private CASCADE;
