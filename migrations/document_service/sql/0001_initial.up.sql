-- document_service 0001: stored documents of claims, members, providers, authorizations.

CREATE TABLE document_service.document (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_type    VARCHAR(20) NOT NULL,
    owner_id      UUID NOT NULL,
    document_type VARCHAR(30) NOT NULL,
    file_name     VARCHAR(255) NOT NULL,
    storage_uri   TEXT NOT NULL,
    mime_type     VARCHAR(100),
    size_bytes    BIGINT,
    sha256        CHAR(64),
    status        VARCHAR(20) NOT NULL DEFAULT 'uploaded',
    uploaded_by   VARCHAR(100),
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_document_owner CHECK (owner_type IN ('claim', 'member', 'provider', 'authorization')),
    CONSTRAINT chk_document_status CHECK (status IN ('uploaded', 'verified', 'rejected', 'archived')),
    CONSTRAINT chk_document_size CHECK (size_bytes IS NULL OR size_bytes >= 0),
    CONSTRAINT chk_document_sha256 CHECK (sha256 IS NULL OR sha256 ~ '^[0-9a-f]{64}$')
);

CREATE INDEX idx_document_owner ON document_service.document (owner_type, owner_id);

SELECT common.add_updated_at_triggers('document_service');
SELECT audit.enable_audit('document_service.document');

GRANT USAGE ON SCHEMA document_service TO document_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA document_service TO document_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA document_service TO reporting_user;
