-- name: insert_submitted_claims
-- Stores a batch of claims as an intake receives them, in one statement: each claim gets
-- a new id and claim number (generate_claim_number: a counter per month, no gaps), status
-- submitted, submission_date = now(), its total the sum of its lines; its lines follow,
-- numbered as sent. The lines' foreign key is checked at the end of the statement, when
-- their claims exist. Returns each claim's key (its position in the batch), id and number.
-- Parameters: claims (jsonb array of {key, member_id, provider_id, policy_id, claim_type,
-- service_type, service_date, admission_date, discharge_date, total_charged_amount}),
-- lines (jsonb array of {key, line_number, benefit_code, procedure_code, diagnosis_code,
-- quantity, charged_amount}; amounts as decimal strings), submitted_by (text).
WITH submitted AS MATERIALIZED (
    SELECT gen_random_uuid() AS id, s.*
    FROM jsonb_to_recordset(%(claims)s::jsonb) AS s (
        key                  INTEGER,
        member_id            UUID,
        provider_id          UUID,
        policy_id            UUID,
        claim_type           VARCHAR(20),
        service_type         VARCHAR(20),
        service_date         DATE,
        admission_date       DATE,
        discharge_date       DATE,
        total_charged_amount DECIMAL(15,2)
    )
),
numbered AS MATERIALIZED (
    SELECT s.*, claims_service.generate_claim_number() AS claim_number
    FROM (SELECT * FROM submitted ORDER BY key) AS s
),
claims AS (
    INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id, policy_id,
        claim_type, service_type, service_date, admission_date, discharge_date,
        total_charged_amount, status, created_by, updated_by)
    SELECT n.id, n.claim_number, n.member_id, n.provider_id, n.policy_id, n.claim_type,
           n.service_type, n.service_date, n.admission_date, n.discharge_date,
           n.total_charged_amount, 'submitted', %(submitted_by)s, %(submitted_by)s
    FROM numbered AS n
    RETURNING id
),
lines AS (
    INSERT INTO claims_service.claim_item (claim_id, line_number, benefit_code,
        procedure_code, diagnosis_code, quantity, charged_amount, status)
    SELECT s.id, l.line_number, l.benefit_code, l.procedure_code, l.diagnosis_code,
           l.quantity, l.charged_amount, 'submitted'
    FROM jsonb_to_recordset(%(lines)s::jsonb) AS l (
        key            INTEGER,
        line_number    INTEGER,
        benefit_code   VARCHAR(50),
        procedure_code VARCHAR(20),
        diagnosis_code VARCHAR(10),
        quantity       INTEGER,
        charged_amount DECIMAL(15,2)
    )
    JOIN submitted AS s ON s.key = l.key
    RETURNING claim_id
)
SELECT n.key, n.id::text AS claim_id, n.claim_number,
       (SELECT count(*) FROM claims) AS claims_inserted,
       (SELECT count(*) FROM lines) AS lines_inserted
FROM numbered AS n
ORDER BY n.key;
