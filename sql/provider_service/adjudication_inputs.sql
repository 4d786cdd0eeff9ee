-- name: contracts_by_provider
-- Contracts of the chunk's providers (network status, A1). Parameters: provider_ids (uuid[]).
SELECT pc.provider_id::text AS provider_id,
       pc.network_status,
       pc.effective_date,
       pc.termination_date,
       pc.status
FROM provider_service.provider_contract AS pc
WHERE pc.provider_id = ANY(%(provider_ids)s);

-- name: fee_schedules_by_provider
-- Fee schedules of the chunk's providers, per-unit allowed amounts in cents (A2).
-- Parameters: provider_ids (uuid[]).
SELECT fs.provider_id::text AS provider_id,
       fs.procedure_code,
       (fs.allowed_amount * 100)::bigint AS allowed_cents,
       fs.effective_date,
       fs.expiration_date
FROM provider_service.provider_fee_schedule AS fs
WHERE fs.provider_id = ANY(%(provider_ids)s);

-- name: known_providers
-- Which of the chunk's providers are in the provider registry (R1, I23: a claim from a
-- provider nobody knows is invalid). Parameters: provider_ids (uuid[]).
SELECT p.id::text AS provider_id
FROM provider_service.provider AS p
WHERE p.id = ANY(%(provider_ids)s);
