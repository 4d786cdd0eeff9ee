-- claims_service 0014: one definition of "a member's accumulators are not settled", which
-- every lease checks (sql/claims_service/lease.sql: lease_claims and
-- give_back_contested_members; sql/claims_service/readjudication.sql): another run than
-- p_run_id holds a live lease on one of the member's claims, or a decided line of the
-- member waits in posting_outbox. A claim of such a member, decided now, would be decided
-- against accumulators without the other run's amounts, and could pay beyond a limit.
--
-- A plain SQL function with invoker's rights: it reads only claims_service tables the
-- service role reads anyway. Its sub-selects keep the planner from inlining it, so it runs
-- once per candidate member, two index probes each (claim by member; the outbox by line).

CREATE FUNCTION claims_service.member_unsettled(p_member_id UUID, p_run_id UUID)
RETURNS BOOLEAN
LANGUAGE sql
STABLE
AS $$
    SELECT EXISTS (
               SELECT 1
               FROM claims_service.claim AS held
               WHERE held.member_id = p_member_id
                 AND held.status = 'in_review'
                 AND held.lease_expires_at >= now()
                 AND held.lease_owner IS DISTINCT FROM p_run_id)
        OR EXISTS (
               SELECT 1
               FROM claims_service.claim AS c
               JOIN claims_service.claim_item AS ci ON ci.claim_id = c.id
               JOIN claims_service.posting_outbox AS o ON o.claim_item_id = ci.id
               WHERE c.member_id = p_member_id)
$$;

COMMENT ON FUNCTION claims_service.member_unsettled(UUID, UUID) IS
    'Another run holds a live lease on one of the member''s claims, or a decided line of the '
    'member waits for posting: the member''s accumulators are not settled, so no lease takes it';

REVOKE ALL ON FUNCTION claims_service.member_unsettled(UUID, UUID) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claims_service.member_unsettled(UUID, UUID) TO claims_service_user;
