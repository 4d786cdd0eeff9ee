DROP VIEW IF EXISTS member_service.v_member_masked, member_service.v_member_eligibility;
DROP FUNCTION IF EXISTS member_service.check_eligibility(UUID, DATE, VARCHAR);
DROP TABLE IF EXISTS member_service.member_eligibility, member_service.member_card,
    member_service.member_dependent, member_service.member_coverage, member_service.member;
