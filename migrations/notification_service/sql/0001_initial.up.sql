-- notification_service 0001: message templates and the outgoing notification queue.

CREATE TABLE notification_service.notification_template (
    code       VARCHAR(50) PRIMARY KEY,
    channel    VARCHAR(20) NOT NULL,
    locale     VARCHAR(10) NOT NULL DEFAULT 'id-ID',
    subject    VARCHAR(255),
    body       TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_notification_template_channel CHECK (channel IN ('email', 'sms', 'push', 'whatsapp', 'letter'))
);

CREATE TABLE notification_service.notification (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    recipient_type VARCHAR(20) NOT NULL,
    recipient_id   UUID NOT NULL,
    channel        VARCHAR(20) NOT NULL,
    template_code  VARCHAR(50),
    subject        VARCHAR(255),
    payload        JSONB NOT NULL DEFAULT '{}'::jsonb,
    status         VARCHAR(20) NOT NULL DEFAULT 'queued',
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    scheduled_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    sent_at        TIMESTAMP WITH TIME ZONE,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT fk_notification_template FOREIGN KEY (template_code)
        REFERENCES notification_service.notification_template (code),
    CONSTRAINT chk_notification_recipient CHECK (recipient_type IN ('member', 'provider')),
    CONSTRAINT chk_notification_channel CHECK (channel IN ('email', 'sms', 'push', 'whatsapp', 'letter')),
    CONSTRAINT chk_notification_status CHECK (status IN ('queued', 'sent', 'failed', 'cancelled')),
    CONSTRAINT chk_notification_attempts CHECK (attempts >= 0)
);

CREATE INDEX idx_notification_queued ON notification_service.notification (scheduled_at) WHERE status = 'queued';
CREATE INDEX idx_notification_recipient ON notification_service.notification (recipient_type, recipient_id);

SELECT common.add_updated_at_triggers('notification_service');
SELECT audit.enable_audit('notification_service.notification');

GRANT USAGE ON SCHEMA notification_service TO notification_service_user, reporting_user;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA notification_service TO notification_service_user;
GRANT SELECT ON ALL TABLES IN SCHEMA notification_service TO reporting_user;
