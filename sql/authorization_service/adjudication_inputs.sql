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

-- name: authorization_changes
-- When each of the given members' authorizations last changed (created, approved, denied,
-- edited), for those changed since a time: a pended claim of the member adjudicated before
-- that may now be decided otherwise. Parameters: member_ids (uuid[]), since (timestamptz).
SELECT au.member_id::text AS member_id,
       max(au.updated_at) AS changed_at
FROM authorization_service.authorization AS au
WHERE au.member_id = ANY(%(member_ids)s::uuid[])
  AND au.updated_at >= %(since)s
GROUP BY au.member_id;
