-- name: dashboard_providers
-- The code and name of the given providers (the dashboard's rejections by provider).
-- Parameters: ids (uuid[]).
SELECT p.id, p.provider_code, p.name
FROM provider_service.provider AS p
WHERE p.id = ANY(%(ids)s::uuid[]);
