-- claims_service 0014 down: the leases of 0013 checked each condition in their own SQL.
DROP FUNCTION claims_service.unsettled_members(UUID);
