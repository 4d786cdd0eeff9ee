-- name: create_bank_account_stage
-- The bank details to store, staged by COPY (emptied at commit): the account number already
-- encrypted by the application, with its mask and key id. No parameters.
CREATE TEMPORARY TABLE IF NOT EXISTS bank_account_stage (
    payee_id           UUID PRIMARY KEY,
    bank_bic           VARCHAR(11) NOT NULL,
    bank_name          VARCHAR(100) NOT NULL,
    account_holder     VARCHAR(255) NOT NULL,
    account_ciphertext BYTEA NOT NULL,
    account_masked     VARCHAR(30) NOT NULL,
    key_id             VARCHAR(20) NOT NULL
) ON COMMIT DELETE ROWS

-- name: upsert_bank_accounts
-- Stores the staged bank details, replacing a provider's earlier ones (the row audit keeps
-- what they were, encrypted). Returns how many rows were written. No parameters.
WITH written AS (
    INSERT INTO provider_service.provider_bank_account AS b
        (provider_id, bank_bic, bank_name, account_holder, account_ciphertext, account_masked, key_id,
         status)
    SELECT s.payee_id, s.bank_bic, s.bank_name, s.account_holder, s.account_ciphertext,
           s.account_masked, s.key_id, 'verified'
    FROM bank_account_stage AS s
    ON CONFLICT (provider_id) DO UPDATE SET
        bank_bic = EXCLUDED.bank_bic,
        bank_name = EXCLUDED.bank_name,
        account_holder = EXCLUDED.account_holder,
        account_ciphertext = EXCLUDED.account_ciphertext,
        account_masked = EXCLUDED.account_masked,
        key_id = EXCLUDED.key_id,
        status = 'verified'
    RETURNING 1
)
SELECT count(*) AS written FROM written

-- name: payee_bank_details
-- The payees' names and masked bank details for a payment run (never the ciphertext): a
-- payee without a verified account has NULL bank columns. Parameters: %(payee_ids)s (uuid[]).
WITH payees AS (
    SELECT p.id, p.name AS payee_name
    FROM provider_service.provider AS p
    WHERE p.id = ANY(%(payee_ids)s::uuid[])
),
verified AS (
    SELECT b.provider_id, b.bank_bic, b.account_masked, b.account_holder
    FROM provider_service.provider_bank_account AS b
    WHERE b.provider_id = ANY(%(payee_ids)s::uuid[])
      AND b.status = 'verified'
)
SELECT payees.id::text AS payee_id,
       payees.payee_name,
       verified.bank_bic,
       verified.account_masked
FROM payees
LEFT JOIN verified ON verified.provider_id = payees.id

-- name: payee_accounts_for_file
-- The encrypted account numbers of the payees of one bank file, with the account holder's
-- name: decrypted by the application just before the file is written. Parameters:
-- %(payee_ids)s (uuid[]).
SELECT b.provider_id::text AS payee_id,
       b.bank_bic,
       b.account_holder,
       b.account_ciphertext,
       b.key_id
FROM provider_service.provider_bank_account AS b
WHERE b.provider_id = ANY(%(payee_ids)s::uuid[])
  AND b.status = 'verified'

-- name: payees_without_bank_details
-- Providers without bank details, with their names (the demo gives them some; a
-- provider who left may still be owed money). No parameters.
SELECT p.id::text AS payee_id, p.name AS payee_name
FROM provider_service.provider AS p
WHERE NOT EXISTS (SELECT 1 FROM provider_service.provider_bank_account AS b WHERE b.provider_id = p.id)
ORDER BY p.id
