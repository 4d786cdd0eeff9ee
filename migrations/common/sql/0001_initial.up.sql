-- common 0001: login roles, shared reference data and shared functions.
-- Roles are cluster-wide: created here when missing, never dropped by a downgrade.

DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        'claims_service_user', 'member_service_user', 'provider_service_user',
        'benefit_service_user', 'policy_service_user', 'authorization_service_user',
        'payment_service_user', 'notification_service_user', 'document_service_user',
        'reporting_user'
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            -- No password here: `claims-askes db upgrade` sets it from the settings.
            EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
        END IF;
    END LOOP;
END
$roles$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA common FROM PUBLIC;

-- Reference data ------------------------------------------------------------------------

CREATE TABLE common.service_type (
    code        VARCHAR(20) PRIMARY KEY,
    name        VARCHAR(100) NOT NULL,
    description TEXT
);

CREATE TABLE common.claim_type (
    code        VARCHAR(20) PRIMARY KEY,
    name        VARCHAR(100) NOT NULL,
    payee_type  VARCHAR(20) NOT NULL,
    description TEXT,
    CONSTRAINT chk_claim_type_payee CHECK (payee_type IN ('provider', 'member'))
);

CREATE TABLE common.status_code (
    domain      VARCHAR(30) NOT NULL,
    code        VARCHAR(30) NOT NULL,
    name        VARCHAR(100) NOT NULL,
    is_final    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (domain, code)
);

CREATE TABLE common.benefit_code (
    code            VARCHAR(50) PRIMARY KEY,
    name            VARCHAR(255) NOT NULL,
    category        VARCHAR(100) NOT NULL,
    service_type    VARCHAR(20) NOT NULL REFERENCES common.service_type (code),
    limitation_type VARCHAR(50),
    description     TEXT,
    CONSTRAINT chk_benefit_code_limitation CHECK (limitation_type IN ('days', 'visits', 'amount'))
);

CREATE TABLE common.reason_code (
    code        VARCHAR(40) PRIMARY KEY,
    description VARCHAR(255) NOT NULL,
    category    VARCHAR(20) NOT NULL,
    carc        VARCHAR(5) NOT NULL,
    group_code  VARCHAR(2) NOT NULL,
    CONSTRAINT chk_reason_code_category CHECK (category IN ('rejection', 'adjustment', 'pend')),
    CONSTRAINT chk_reason_code_group CHECK (group_code IN ('CO', 'PR', 'OA', 'PI', 'CR'))
);

CREATE TABLE common.icd10_chapter (
    chapter   VARCHAR(5) PRIMARY KEY,
    code_from CHAR(3) NOT NULL,
    code_to   CHAR(3) NOT NULL,
    title     VARCHAR(255) NOT NULL,
    CONSTRAINT chk_icd10_chapter_range CHECK (code_from <= code_to)
);

INSERT INTO common.service_type (code, name, description) VALUES
    ('outpatient', 'Rawat jalan (outpatient)', 'Visits without an overnight stay'),
    ('inpatient', 'Rawat inap (inpatient)', 'Hospital stays; quantity counts days'),
    ('emergency', 'Gawat darurat (emergency)', 'Emergency department care'),
    ('dental', 'Gigi (dental)', 'Dental care'),
    ('maternity', 'Persalinan (maternity)', 'Pregnancy and delivery'),
    ('optical', 'Kacamata (optical)', 'Eye examinations and glasses'),
    ('pharmacy', 'Obat (pharmacy)', 'Prescribed medicines'),
    ('diagnostic', 'Penunjang (diagnostics)', 'Laboratory and radiology');

INSERT INTO common.claim_type (code, name, payee_type, description) VALUES
    ('cashless', 'Cashless', 'provider', 'The provider bills the insurer; the plan pays the provider'),
    ('reimbursement', 'Reimbursement', 'member', 'The member paid and is reimbursed');

INSERT INTO common.status_code (domain, code, name, is_final) VALUES
    ('claim', 'submitted', 'Submitted, waiting for adjudication', FALSE),
    ('claim', 'in_review', 'Leased by an adjudication run', FALSE),
    ('claim', 'pended', 'Pended: waiting for an authorization', FALSE),
    ('claim', 'approved', 'Approved', TRUE),
    ('claim', 'partially_approved', 'Partially approved', TRUE),
    ('claim', 'rejected', 'Rejected', TRUE),
    ('claim', 'paid', 'Paid', TRUE),
    ('claim', 'cancelled', 'Cancelled', TRUE),
    ('claim_item', 'submitted', 'Submitted', FALSE),
    ('claim_item', 'approved', 'Approved', TRUE),
    ('claim_item', 'rejected', 'Rejected', TRUE),
    ('claim_item', 'pended', 'Pended', FALSE),
    ('member', 'active', 'Active', FALSE),
    ('member', 'suspended', 'Suspended', FALSE),
    ('member', 'terminated', 'Terminated', TRUE),
    ('coverage', 'active', 'Active', FALSE),
    ('coverage', 'terminated', 'Terminated', TRUE),
    ('coverage', 'cancelled', 'Cancelled (never in force)', TRUE),
    ('authorization', 'approved', 'Approved', TRUE),
    ('authorization', 'pending', 'Pending review', FALSE),
    ('authorization', 'denied', 'Denied', TRUE),
    ('payment', 'pending', 'Pending', FALSE),
    ('payment', 'scheduled', 'Scheduled', FALSE),
    ('payment', 'paid', 'Paid', TRUE),
    ('payment', 'failed', 'Failed', TRUE),
    ('payment', 'cancelled', 'Cancelled', TRUE);

INSERT INTO common.benefit_code (code, name, category, service_type, limitation_type, description) VALUES
    ('OP_GP', 'Konsultasi dokter umum', 'outpatient', 'outpatient', 'visits', 'General practitioner visit'),
    ('OP_SPECIALIST', 'Konsultasi dokter spesialis', 'outpatient', 'outpatient', 'visits', 'Specialist visit'),
    ('OP_PHYSIO', 'Fisioterapi', 'outpatient', 'outpatient', 'visits', 'Physiotherapy session'),
    ('OP_MENTAL', 'Kesehatan jiwa', 'outpatient', 'outpatient', 'visits', 'Mental health consultation'),
    ('IP_ROOM', 'Kamar dan makan', 'inpatient', 'inpatient', 'days', 'Room and board per day'),
    ('IP_ICU', 'ICU / ICCU', 'inpatient', 'inpatient', 'days', 'Intensive care per day'),
    ('IP_SURGERY', 'Tindakan operasi', 'inpatient', 'inpatient', 'amount', 'Surgery and anaesthesia'),
    ('IP_DOCTOR', 'Visit dokter rawat inap', 'inpatient', 'inpatient', 'amount', 'Doctor visits during a stay'),
    ('EMERGENCY', 'Gawat darurat', 'emergency', 'emergency', 'amount', 'Emergency treatment'),
    ('MATERNITY', 'Persalinan', 'maternity', 'maternity', 'amount', 'Normal or caesarean delivery'),
    ('DENTAL', 'Perawatan gigi', 'dental', 'dental', 'amount', 'Dental care'),
    ('OPTICAL', 'Kacamata', 'optical', 'optical', 'amount', 'Frames and lenses'),
    ('PHARMACY', 'Obat-obatan', 'pharmacy', 'pharmacy', 'amount', 'Prescribed medicines'),
    ('LAB', 'Laboratorium', 'diagnostic', 'diagnostic', 'amount', 'Laboratory tests'),
    ('RADIOLOGY', 'Radiologi', 'diagnostic', 'diagnostic', 'amount', 'X-ray, CT, MRI');

-- Rejection codes of docs/adjudication.md, adjustments named on approved lines, and the pend code,
-- each with the nearest X12 CARC and group code.
INSERT INTO common.reason_code (code, description, category, carc, group_code) VALUES
    ('INVALID_CLAIM', 'Claim or line is invalid or incomplete', 'rejection', '16', 'CO'),
    ('MEMBER_NOT_ELIGIBLE', 'Member not enrolled or suspended on the service date', 'rejection', '27', 'PR'),
    ('COVERAGE_NOT_STARTED', 'Coverage had not started on the service date', 'rejection', '26', 'PR'),
    ('COVERAGE_TERMINATED', 'Coverage terminated before the service date', 'rejection', '27', 'PR'),
    ('DUPLICATE', 'Duplicate of an earlier claim line', 'rejection', '18', 'CO'),
    ('BENEFIT_NOT_COVERED', 'Benefit not covered by the plan', 'rejection', '96', 'PR'),
    ('EXCLUDED', 'Service excluded by the plan', 'rejection', '96', 'PR'),
    ('WAITING_PERIOD', 'Waiting period not yet served', 'rejection', '96', 'PR'),
    ('AGE_LIMIT', 'Member age outside the benefit''s limits', 'rejection', '6', 'CO'),
    ('PREAUTH_MISSING', 'Required pre-authorization missing', 'rejection', '197', 'CO'),
    ('VISIT_LIMIT_EXCEEDED', 'Visit limit reached', 'rejection', '119', 'PR'),
    ('DAY_LIMIT_EXCEEDED', 'Day limit reached', 'rejection', '119', 'PR'),
    ('PREAUTH_PENDING', 'Waiting for a pending pre-authorization', 'pend', '197', 'CO'),
    ('DEDUCTIBLE', 'Deductible applied', 'adjustment', '1', 'PR'),
    ('COINSURANCE', 'Coinsurance applied', 'adjustment', '2', 'PR'),
    ('COPAY', 'Copay applied', 'adjustment', '3', 'PR'),
    ('FEE_SCHEDULE', 'Charge above the fee schedule', 'adjustment', '45', 'CO'),
    ('NETWORK_REDUCTION', 'Out-of-network or partial network coverage', 'adjustment', '242', 'PR'),
    ('LIMIT_REACHED', 'Benefit maximum (incident, annual, lifetime or days) reached', 'adjustment', '119', 'PR');

INSERT INTO common.icd10_chapter (chapter, code_from, code_to, title) VALUES
    ('I', 'A00', 'B99', 'Certain infectious and parasitic diseases'),
    ('II', 'C00', 'D48', 'Neoplasms'),
    ('III', 'D50', 'D89', 'Diseases of the blood and blood-forming organs'),
    ('IV', 'E00', 'E90', 'Endocrine, nutritional and metabolic diseases'),
    ('V', 'F00', 'F99', 'Mental and behavioural disorders'),
    ('VI', 'G00', 'G99', 'Diseases of the nervous system'),
    ('VII', 'H00', 'H59', 'Diseases of the eye and adnexa'),
    ('VIII', 'H60', 'H95', 'Diseases of the ear and mastoid process'),
    ('IX', 'I00', 'I99', 'Diseases of the circulatory system'),
    ('X', 'J00', 'J99', 'Diseases of the respiratory system'),
    ('XI', 'K00', 'K93', 'Diseases of the digestive system'),
    ('XII', 'L00', 'L99', 'Diseases of the skin and subcutaneous tissue'),
    ('XIII', 'M00', 'M99', 'Diseases of the musculoskeletal system and connective tissue'),
    ('XIV', 'N00', 'N99', 'Diseases of the genitourinary system'),
    ('XV', 'O00', 'O99', 'Pregnancy, childbirth and the puerperium'),
    ('XVI', 'P00', 'P96', 'Certain conditions originating in the perinatal period'),
    ('XVII', 'Q00', 'Q99', 'Congenital malformations and chromosomal abnormalities'),
    ('XVIII', 'R00', 'R99', 'Symptoms, signs and abnormal findings, not elsewhere classified'),
    ('XIX', 'S00', 'T98', 'Injury, poisoning and certain other consequences of external causes'),
    ('XX', 'V01', 'Y98', 'External causes of morbidity and mortality'),
    ('XXI', 'Z00', 'Z99', 'Factors influencing health status and contact with health services'),
    ('XXII', 'U00', 'U85', 'Codes for special purposes');

-- Shared functions ----------------------------------------------------------------------

-- Keeps updated_at true on every UPDATE.
CREATE FUNCTION common.update_updated_at()
RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$;

-- Adds the updated_at trigger to every table of p_schema that has the column
-- (partitions inherit it from their parent). Idempotent.
CREATE FUNCTION common.add_updated_at_triggers(p_schema TEXT)
RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    t RECORD;
    n INTEGER := 0;
BEGIN
    FOR t IN
        SELECT c.relname
        FROM pg_class c
        JOIN pg_namespace ns ON ns.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
        WHERE ns.nspname = p_schema AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    LOOP
        EXECUTE format(
            'CREATE OR REPLACE TRIGGER %I BEFORE UPDATE ON %I.%I '
            'FOR EACH ROW EXECUTE FUNCTION common.update_updated_at()',
            'update_' || t.relname || '_timestamp', p_schema, t.relname);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;

-- Masks an Indonesian national ID (NIK, 16 digits) to its last four digits.
CREATE FUNCTION common.mask_national_id(p_national_id TEXT)
RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_national_id IS NULL THEN NULL
        ELSE repeat('*', greatest(length(p_national_id) - 4, 0)) || right(p_national_id, 4)
    END;
$$;

-- The seed's health checks (connections, bloat, replication); operations flows extend it.
CREATE FUNCTION common.health_check()
RETURNS TABLE (check_name VARCHAR, status VARCHAR, details TEXT)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    WITH limits AS (
        SELECT setting::int AS max_connections FROM pg_settings WHERE name = 'max_connections'
    ),
    used AS (
        SELECT count(*)::int AS backends FROM pg_stat_activity
    )
    SELECT
        'connection_count'::VARCHAR,
        CASE
            WHEN used.backends < limits.max_connections * 0.8 THEN 'healthy'
            WHEN used.backends < limits.max_connections * 0.9 THEN 'warning'
            ELSE 'critical'
        END::VARCHAR,
        format('Connections: %s/%s', used.backends, limits.max_connections)::TEXT
    FROM limits, used;

    RETURN QUERY
    WITH ratios AS (
        SELECT max(n_dead_tup::numeric / NULLIF(n_live_tup + n_dead_tup, 0)) AS worst
        FROM pg_stat_user_tables
        WHERE n_live_tup + n_dead_tup > 1000
    )
    SELECT
        'table_bloat'::VARCHAR,
        CASE
            WHEN coalesce(worst, 0) < 0.1 THEN 'healthy'
            WHEN worst < 0.2 THEN 'warning'
            ELSE 'critical'
        END::VARCHAR,
        format('Max dead tuple ratio: %s%%', round(coalesce(worst, 0) * 100, 2))::TEXT
    FROM ratios;

    IF EXISTS (SELECT 1 FROM pg_stat_replication) THEN
        RETURN QUERY
        SELECT
            'replication_lag'::VARCHAR,
            CASE
                WHEN max(replay_lag) < interval '1 second' THEN 'healthy'
                WHEN max(replay_lag) < interval '5 seconds' THEN 'warning'
                ELSE 'critical'
            END::VARCHAR,
            format('Max lag: %s', max(replay_lag))::TEXT
        FROM pg_stat_replication;
    END IF;
END;
$$;

-- Every service (and reporting) reads the reference data; nobody but the owner writes it.
GRANT USAGE ON SCHEMA common TO
    claims_service_user, member_service_user, provider_service_user, benefit_service_user,
    policy_service_user, authorization_service_user, payment_service_user,
    notification_service_user, document_service_user, reporting_user;
GRANT SELECT ON ALL TABLES IN SCHEMA common TO
    claims_service_user, member_service_user, provider_service_user, benefit_service_user,
    policy_service_user, authorization_service_user, payment_service_user,
    notification_service_user, document_service_user, reporting_user;
REVOKE EXECUTE ON FUNCTION common.add_updated_at_triggers(TEXT) FROM PUBLIC;
