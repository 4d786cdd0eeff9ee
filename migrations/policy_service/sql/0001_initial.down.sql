DROP TABLE IF EXISTS policy_service.policy, policy_service.plan;
