-- claims_service 0001: claims, lines, documents, status history, notes, payments;
-- a race-free claim number; the partitioned claim table; the dashboard view.
--
-- The seed's CHECK (discharge_date >= admission_date) is enforced by adjudication rule R1
-- instead: a malformed claim from intake must be rejected with INVALID_CLAIM and a note,
-- not refused at the door where nobody sees why.

CREATE TABLE claims_service.claim (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    claim_number          VARCHAR(50) UNIQUE NOT NULL,
    member_id             UUID NOT NULL,
    provider_id           UUID NOT NULL,
    policy_id             UUID NOT NULL,
    claim_type            VARCHAR(20) NOT NULL,
    service_type          VARCHAR(20) NOT NULL,
    admission_date        DATE,
    discharge_date        DATE,
    service_date          DATE NOT NULL,
    total_charged_amount  DECIMAL(15,2),
    total_approved_amount DECIMAL(15,2),
    total_paid_amount     DECIMAL(15,2),
    member_responsibility DECIMAL(15,2),
    status                VARCHAR(30) NOT NULL DEFAULT 'submitted',
    submission_date       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    created_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    created_by            VARCHAR(100),
    updated_by            VARCHAR(100),
    CONSTRAINT chk_claim_amounts CHECK (total_charged_amount >= 0),
    CONSTRAINT chk_claim_type CHECK (claim_type IN ('cashless', 'reimbursement')),
    CONSTRAINT chk_claim_status CHECK (status IN
        ('submitted', 'in_review', 'pended', 'approved', 'partially_approved', 'rejected', 'paid', 'cancelled'))
);

CREATE INDEX idx_claim_member_id ON claims_service.claim (member_id);
CREATE INDEX idx_claim_provider_id ON claims_service.claim (provider_id);
CREATE INDEX idx_claim_status ON claims_service.claim (status);
CREATE INDEX idx_claim_service_date ON claims_service.claim (service_date);
CREATE INDEX idx_claim_submission_date ON claims_service.claim (submission_date);
CREATE INDEX idx_claim_member_status_date ON claims_service.claim (member_id, status, service_date)
    INCLUDE (total_charged_amount, total_approved_amount);
CREATE INDEX idx_claim_pending ON claims_service.claim (submission_date) WHERE status = 'submitted';
CREATE INDEX idx_claim_service_date_brin ON claims_service.claim USING BRIN (service_date);

CREATE TABLE claims_service.claim_item (
    id                    UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    claim_id              UUID NOT NULL,
    line_number           INTEGER NOT NULL,
    benefit_code          VARCHAR(50),
    procedure_code        VARCHAR(20),
    diagnosis_code        VARCHAR(10),
    quantity              INTEGER NOT NULL DEFAULT 1,
    charged_amount        DECIMAL(15,2) NOT NULL,
    allowed_amount        DECIMAL(15,2),
    deductible_amount     DECIMAL(15,2),
    copay_amount          DECIMAL(15,2),
    coinsurance_amount    DECIMAL(15,2),
    approved_amount       DECIMAL(15,2),
    member_responsibility DECIMAL(15,2),
    status                VARCHAR(20) NOT NULL DEFAULT 'submitted',
    reason_code           VARCHAR(40),
    created_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at            TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    -- No ON DELETE CASCADE: a line is never deleted as a side effect (archiving moves it).
    CONSTRAINT fk_claim_item_claim FOREIGN KEY (claim_id) REFERENCES claims_service.claim (id),
    CONSTRAINT uk_claim_item_line UNIQUE (claim_id, line_number),
    CONSTRAINT chk_claim_item_status CHECK (status IN ('submitted', 'approved', 'rejected', 'pended'))
);

CREATE TABLE claims_service.claim_document (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    claim_id      UUID NOT NULL,
    document_type VARCHAR(30) NOT NULL,
    file_name     VARCHAR(255) NOT NULL,
    storage_uri   TEXT NOT NULL,
    mime_type     VARCHAR(100),
    size_bytes    BIGINT,
    sha256        CHAR(64),
    uploaded_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_claim_document_claim FOREIGN KEY (claim_id) REFERENCES claims_service.claim (id),
    CONSTRAINT chk_claim_document_type CHECK (document_type IN
        ('invoice', 'receipt', 'medical_report', 'prescription', 'referral', 'discharge_summary', 'lab_result', 'other')),
    CONSTRAINT chk_claim_document_size CHECK (size_bytes IS NULL OR size_bytes >= 0)
);

CREATE INDEX idx_claim_document_claim_id ON claims_service.claim_document (claim_id);

CREATE TABLE claims_service.claim_status_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    claim_id    UUID NOT NULL,
    from_status VARCHAR(30),
    to_status   VARCHAR(30) NOT NULL,
    reason_code VARCHAR(40),
    reason      TEXT,
    changed_by  VARCHAR(100),
    flow_run_id UUID,
    changed_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_claim_status_history_claim FOREIGN KEY (claim_id) REFERENCES claims_service.claim (id)
);

CREATE INDEX idx_claim_status_history_claim_id ON claims_service.claim_status_history (claim_id, changed_at);

CREATE TABLE claims_service.claim_note (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    claim_id   UUID NOT NULL,
    note_type  VARCHAR(20) NOT NULL DEFAULT 'general',
    note_text  TEXT NOT NULL,
    created_by VARCHAR(100),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_claim_note_claim FOREIGN KEY (claim_id) REFERENCES claims_service.claim (id),
    CONSTRAINT chk_claim_note_type CHECK (note_type IN ('rejection', 'pend', 'review', 'override', 'general'))
);

CREATE INDEX idx_claim_note_claim_id ON claims_service.claim_note (claim_id);

CREATE TABLE claims_service.claim_payment (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    claim_id         UUID NOT NULL,
    payee_type       VARCHAR(20) NOT NULL,
    payee_id         UUID NOT NULL,
    amount           DECIMAL(15,2) NOT NULL,
    currency         CHAR(3) NOT NULL DEFAULT 'IDR',
    status           VARCHAR(20) NOT NULL DEFAULT 'pending',
    payment_date     DATE,
    reference_number VARCHAR(50),
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_claim_payment_claim FOREIGN KEY (claim_id) REFERENCES claims_service.claim (id),
    CONSTRAINT chk_claim_payment_payee CHECK (payee_type IN ('provider', 'member')),
    CONSTRAINT chk_claim_payment_status CHECK (status IN ('pending', 'scheduled', 'paid', 'failed', 'cancelled'))
);

CREATE INDEX idx_claim_payment_claim_id ON claims_service.claim_payment (claim_id);
CREATE INDEX idx_claim_payment_pending ON claims_service.claim_payment (created_at) WHERE status = 'pending';

-- Claim numbers: CLM-YYYY-MM-NNNNNN, a counter per month (Jakarta time).
-- The seed's MAX()+1 gave two concurrent callers the same number. Here the upsert takes a
-- row lock on the month's counter: concurrent callers queue and each gets its own number;
-- no gaps, and past 999,999 the number widens instead of being truncated by LPAD.
CREATE TABLE claims_service.claim_number_counter (
    period     CHAR(7) PRIMARY KEY,
    last_value BIGINT NOT NULL,
    CONSTRAINT chk_claim_number_counter_period CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
    CONSTRAINT chk_claim_number_counter_value CHECK (last_value > 0)
);

CREATE FUNCTION claims_service.generate_claim_number()
RETURNS VARCHAR
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_period CHAR(7) := to_char(NOW() AT TIME ZONE 'Asia/Jakarta', 'YYYY-MM');
    v_sequence BIGINT;
BEGIN
    INSERT INTO claims_service.claim_number_counter AS c (period, last_value)
    VALUES (v_period, 1)
    ON CONFLICT (period) DO UPDATE SET last_value = c.last_value + 1
    RETURNING c.last_value INTO v_sequence;

    RETURN 'CLM-' || v_period || '-' || lpad(v_sequence::text, greatest(6, length(v_sequence::text)), '0');
END;
$$;

-- Range-partitioned by service_date. A partitioned table's keys must include the
-- partition key, so the seed's LIKE ... INCLUDING ALL becomes explicit keys.
CREATE TABLE claims_service.claim_partitioned (
    LIKE claims_service.claim INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    CONSTRAINT pk_claim_partitioned PRIMARY KEY (id, service_date),
    CONSTRAINT uk_claim_partitioned_number UNIQUE (claim_number, service_date)
) PARTITION BY RANGE (service_date);

CREATE INDEX idx_claim_partitioned_member_id ON claims_service.claim_partitioned (member_id);
CREATE INDEX idx_claim_partitioned_status ON claims_service.claim_partitioned (status);
CREATE INDEX idx_claim_partitioned_member_status_date ON claims_service.claim_partitioned
    (member_id, status, service_date) INCLUDE (total_charged_amount, total_approved_amount);

-- Rows outside every monthly partition land here; monitoring reports them.
CREATE TABLE claims_service.claim_partitioned_default
    PARTITION OF claims_service.claim_partitioned DEFAULT;

-- Creates the partition of the month containing p_month (default: next month), if missing,
-- and returns its name. Month names follow the seed: claim_YYYY_MM.
CREATE FUNCTION claims_service.create_monthly_partition(
    p_month DATE DEFAULT (date_trunc('month', CURRENT_DATE) + interval '1 month')::date
)
RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    v_start DATE := date_trunc('month', p_month)::date;
    v_end DATE := (date_trunc('month', p_month) + interval '1 month')::date;
    v_name TEXT := 'claim_' || to_char(v_start, 'YYYY_MM');
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS claims_service.%I PARTITION OF claims_service.claim_partitioned '
        'FOR VALUES FROM (%L) TO (%L)', v_name, v_start, v_end);
    RETURN v_name;
END;
$$;

SELECT claims_service.create_monthly_partition(DATE '2024-01-01');
SELECT claims_service.create_monthly_partition(DATE '2024-02-01');

-- Daily claims of the last 30 days, as the seed's dashboard, with every status counted.
CREATE VIEW claims_service.v_claims_dashboard AS
SELECT
    date_trunc('day', submission_date) AS date,
    count(*) AS total_claims,
    count(*) FILTER (WHERE status IN ('submitted', 'in_review')) AS pending_claims,
    count(*) FILTER (WHERE status = 'pended') AS pended_claims,
    count(*) FILTER (WHERE status = 'approved') AS approved_claims,
    count(*) FILTER (WHERE status = 'partially_approved') AS partially_approved_claims,
    count(*) FILTER (WHERE status = 'rejected') AS rejected_claims,
    sum(total_charged_amount) AS total_charged,
    sum(total_approved_amount) AS total_approved,
    avg(EXTRACT(EPOCH FROM (updated_at - submission_date)) / 3600)
        FILTER (WHERE status IN ('approved', 'partially_approved', 'rejected', 'paid'))::DECIMAL(10,2)
        AS avg_processing_hours
FROM claims_service.claim
WHERE submission_date >= CURRENT_DATE - INTERVAL '30 days'
GROUP BY date_trunc('day', submission_date)
ORDER BY date DESC;

SELECT common.add_updated_at_triggers('claims_service');
SELECT audit.enable_audit('claims_service.claim');
SELECT audit.enable_audit('claims_service.claim_item');
SELECT audit.enable_audit('claims_service.claim_payment');

GRANT USAGE ON SCHEMA claims_service TO claims_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA claims_service TO claims_service_user;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA claims_service TO claims_service_user;
GRANT EXECUTE ON FUNCTION claims_service.generate_claim_number() TO claims_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA claims_service TO reporting_user;
REVOKE EXECUTE ON FUNCTION claims_service.create_monthly_partition(DATE) FROM PUBLIC;

-- The archive (owned by the claims service): old claims with their children.
CREATE SCHEMA IF NOT EXISTS archive;
REVOKE ALL ON SCHEMA archive FROM PUBLIC;

CREATE TABLE archive.claim (LIKE claims_service.claim INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim PRIMARY KEY (id),
    CONSTRAINT uk_archive_claim_number UNIQUE (claim_number));
CREATE TABLE archive.claim_item (LIKE claims_service.claim_item INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_item PRIMARY KEY (id));
CREATE TABLE archive.claim_document (LIKE claims_service.claim_document INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_document PRIMARY KEY (id));
CREATE TABLE archive.claim_status_history (LIKE claims_service.claim_status_history INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_status_history PRIMARY KEY (id));
CREATE TABLE archive.claim_note (LIKE claims_service.claim_note INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_note PRIMARY KEY (id));
CREATE TABLE archive.claim_payment (LIKE claims_service.claim_payment INCLUDING CONSTRAINTS,
    archived_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    archive_run_id UUID,
    CONSTRAINT pk_archive_claim_payment PRIMARY KEY (id));

CREATE INDEX idx_archive_claim_item_claim_id ON archive.claim_item (claim_id);
CREATE INDEX idx_archive_claim_service_date_brin ON archive.claim USING BRIN (service_date);

-- The claims service moves its own old rows here; it may add but never change them.
GRANT USAGE ON SCHEMA archive TO claims_service_user, reporting_user;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA archive TO claims_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA archive TO reporting_user;
