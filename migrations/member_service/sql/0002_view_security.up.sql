-- member_service 0002: views that cannot get around row-level security, no writes through
-- views, a masked view from which a NIK cannot be rebuilt, and an audit of every member
-- table the service changes.
--
-- 1. The views belonged to the admin role, which owns member_service.member and is not
--    subject to its policies: anyone allowed to read a view read every member, whatever
--    purpose the session declared; and the grant of 0001 (ALL TABLES) let the member role
--    insert, update and delete members through v_member_masked.
--    - v_member_eligibility runs with the invoker's rights (security_invoker): the member
--      role sees through it exactly the members its declared purpose lets it see.
--    - v_member_masked is how reporting_user, which has no right on the member table, reads
--      members. With the invoker's rights it would need a grant and a policy on the table
--      itself, and then it could read the table, full NIKs included. So it stays a definer
--      view, owned by member_service_masked_view: a role with no login, no BYPASSRLS, SELECT
--      on the member table and one policy (select, every row) of its own. The view shows
--      only what the mask lets through; the member role loses every right on it (through it
--      the member role would otherwise read members without declaring a purpose).
--    - No role may write through any view.
-- 4. The masked view showed the NIK's last four digits beside the date of birth, gender and
--    city: digits 7-12 of a NIK are the birth date (day + 40 for women) and each city has
--    one regency code, which left a handful of candidates per member. It now shows the
--    birth year and the province instead of the date of birth and the city: the birth date
--    alone leaves 365 candidates, times the districts of every regency of the province.
-- 5. member_dependent and member_eligibility (the sweep upserts it) get the audit triggers.

DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'member_service_masked_view') THEN
        -- Roles are cluster-wide: created when missing, never dropped by a downgrade.
        CREATE ROLE member_service_masked_view NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB
            NOCREATEROLE NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created meanwhile by a migration of another database of the same server
END
$role$;

GRANT USAGE ON SCHEMA member_service, common TO member_service_masked_view;
GRANT SELECT ON member_service.member TO member_service_masked_view;

CREATE POLICY member_masked_view ON member_service.member
    FOR SELECT TO member_service_masked_view
    USING (true);

DROP VIEW member_service.v_member_masked;

-- What reporting may see of a member: the national ID masked to its last four digits, the
-- birth year and the province (not the date of birth and the city, which rebuild the NIK),
-- no contact details.
CREATE VIEW member_service.v_member_masked WITH (security_barrier) AS
SELECT
    m.id,
    m.member_number,
    m.first_name,
    m.last_name,
    EXTRACT(YEAR FROM m.date_of_birth)::INTEGER AS birth_year,
    m.gender,
    common.mask_national_id(m.national_id) AS national_id,
    m.state_province,
    m.status,
    m.enrollment_date,
    m.termination_date
FROM member_service.member AS m;

ALTER VIEW member_service.v_member_masked OWNER TO member_service_masked_view;
REVOKE ALL ON member_service.v_member_masked FROM PUBLIC;
GRANT SELECT ON member_service.v_member_masked TO reporting_user;

ALTER VIEW member_service.v_member_eligibility SET (security_invoker = true);
REVOKE ALL ON member_service.v_member_eligibility FROM member_service_user, reporting_user;
GRANT SELECT ON member_service.v_member_eligibility TO member_service_user;

SELECT audit.enable_audit('member_service.member_dependent');
SELECT audit.enable_audit('member_service.member_eligibility');
