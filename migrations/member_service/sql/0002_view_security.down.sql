-- member_service 0002 down: the views and grants of 0001 again (the admin role's views,
-- the member role's rights on both), no audit of dependents and eligibility snapshots.
-- The role member_service_masked_view is cluster-wide and stays (it owns nothing here).
DROP TRIGGER IF EXISTS audit_insert ON member_service.member_eligibility;
DROP TRIGGER IF EXISTS audit_update ON member_service.member_eligibility;
DROP TRIGGER IF EXISTS audit_delete ON member_service.member_eligibility;
DROP TRIGGER IF EXISTS audit_insert ON member_service.member_dependent;
DROP TRIGGER IF EXISTS audit_update ON member_service.member_dependent;
DROP TRIGGER IF EXISTS audit_delete ON member_service.member_dependent;

ALTER VIEW member_service.v_member_eligibility RESET (security_invoker);
GRANT SELECT, INSERT, UPDATE, DELETE ON member_service.v_member_eligibility TO member_service_user;

DROP VIEW member_service.v_member_masked;

CREATE VIEW member_service.v_member_masked WITH (security_barrier) AS
SELECT
    m.id,
    m.member_number,
    m.first_name,
    m.last_name,
    m.date_of_birth,
    m.gender,
    common.mask_national_id(m.national_id) AS national_id,
    m.city,
    m.state_province,
    m.status,
    m.enrollment_date,
    m.termination_date
FROM member_service.member AS m;

GRANT SELECT, INSERT, UPDATE, DELETE ON member_service.v_member_masked TO member_service_user;
GRANT SELECT ON member_service.v_member_masked TO reporting_user;

DROP POLICY member_masked_view ON member_service.member;
REVOKE ALL ON member_service.member FROM member_service_masked_view;
REVOKE ALL ON SCHEMA member_service, common FROM member_service_masked_view;
