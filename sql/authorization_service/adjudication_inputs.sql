-- name: authorizations_by_member
-- Pre-authorizations of the chunk's members (R9). Parameters: member_ids (uuid[]).
SELECT au.member_id::text AS member_id,
       au.provider_id::text AS provider_id,
       au.benefit_code,
       au.status,
       au.valid_from,
       au.valid_to
FROM authorization_service.authorization AS au
WHERE au.member_id = ANY(%(member_ids)s);
