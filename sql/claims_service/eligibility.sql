-- name: approved_claims_of_members
-- Claims already approved (approved, partially approved or paid) of the members whose ids lie
-- in [first_member, last_member] (one sweep batch), with service dates up to the as-of date:
-- the eligibility sweep checks them against the members' current coverage. Parameters:
-- first_member, last_member (uuid), as_of.
SELECT c.claim_number,
       c.member_id::text AS member_id,
       c.service_date,
       c.status
FROM claims_service.claim AS c
WHERE c.member_id BETWEEN %(first_member)s::uuid AND %(last_member)s::uuid
  AND c.status IN ('approved', 'partially_approved', 'paid')
  AND c.service_date <= %(as_of)s::date;
