-- claims_service 0014: one definition of the members whose accumulators are not settled,
-- which every lease leaves alone (sql/claims_service/lease.sql: lease_claims and
-- give_back_contested_members; sql/claims_service/readjudication.sql): another run than
-- p_run_id holds a live lease on one of the member's claims, or a decided line of the member
-- waits in posting_outbox. A claim of such a member, decided now, would be decided against
-- accumulators without the other run's amounts, and could pay beyond a limit.
--
-- A set, not a per-member test: a plain SQL function of one SELECT, which the planner
-- inlines into each lease statement as a subquery computed once (a hashed subplan). A
-- per-member boolean function cannot be inlined: it scanned the whole outbox once per
-- candidate member, and a lease during another run's write took minutes (soak, 2026-12-05).

CREATE FUNCTION claims_service.unsettled_members(p_run_id UUID)
RETURNS TABLE (member_id UUID)
LANGUAGE sql
STABLE
AS $$
    SELECT held.member_id
    FROM claims_service.claim AS held
    WHERE held.status = 'in_review'
      AND held.lease_expires_at >= now()
      AND held.lease_owner IS DISTINCT FROM p_run_id
    UNION
    SELECT c.member_id
    FROM claims_service.posting_outbox AS o
    JOIN claims_service.claim_item AS ci ON ci.id = o.claim_item_id
    JOIN claims_service.claim AS c ON c.id = ci.claim_id
$$;

COMMENT ON FUNCTION claims_service.unsettled_members(UUID) IS
    'Members another run than p_run_id holds (a live lease on one of their claims), or whose '
    'decided lines wait for posting: their accumulators are not settled, so no lease takes them';

REVOKE ALL ON FUNCTION claims_service.unsettled_members(UUID) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claims_service.unsettled_members(UUID) TO claims_service_user;
