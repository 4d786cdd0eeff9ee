-- name: members_by_id
-- Members of an adjudication chunk (rule R2, age for R8). Parameters: member_ids (uuid[]).
SELECT m.id::text AS member_id,
       m.date_of_birth,
       m.status,
       m.enrollment_date,
       m.termination_date
FROM member_service.member AS m
WHERE m.id = ANY(%(member_ids)s);

-- name: coverages_by_member
-- Every coverage of the chunk's members, cancelled ones included (R3 needs the first one).
-- Parameters: member_ids (uuid[]).
SELECT mc.id::text AS coverage_id,
       mc.member_id::text AS member_id,
       mc.policy_id::text AS policy_id,
       mc.plan_id::text AS plan_id,
       mc.effective_date,
       mc.termination_date,
       mc.status
FROM member_service.member_coverage AS mc
WHERE mc.member_id = ANY(%(member_ids)s);

-- name: coverage_changes
-- When each of the given members' row or coverages last changed (status, enrolment,
-- termination, a coverage added, ended or cancelled), for those changed since a time: a
-- pended claim of the member adjudicated before that may now be decided otherwise.
-- Parameters: member_ids (uuid[]), since (timestamptz).
WITH changes AS (
    SELECT m.id AS member_id, m.updated_at AS changed_at
    FROM member_service.member AS m
    WHERE m.id = ANY(%(member_ids)s::uuid[])
      AND m.updated_at >= %(since)s
    UNION ALL
    SELECT mc.member_id, mc.updated_at
    FROM member_service.member_coverage AS mc
    WHERE mc.member_id = ANY(%(member_ids)s::uuid[])
      AND mc.updated_at >= %(since)s
)
SELECT ch.member_id::text AS member_id,
       max(ch.changed_at) AS changed_at
FROM changes AS ch
GROUP BY ch.member_id;
