-- member_service 0003: the purpose of a member session is its login role, not a setting.
--
-- Until now a session of member_service_user declared its purpose with custom settings
-- (claims_askes.access = 'batch', claims_askes.member_id = '<uuid>') that any session may
-- set: the member role read every member, or any one member, by saying so.
-- - member_service_user is the batch role: its policies let it read, insert and update
--   every member (never delete), whatever the session sets.
-- - member_portal_user, a new login role, is member-facing: it reads the member its session
--   is bound to, and nobody else. A session is bound by member_service.bind_member_session
--   (SECURITY DEFINER), which verifies a signed token (member id, expiry, HMAC-SHA256 with a
--   key only the owner reads) and records the binding in a table the session cannot write,
--   keyed by its backend pid and start time. A session binds once: a second bind is refused.
-- - The old settings no longer mean anything.
-- HMAC-SHA256 is written out over core sha256(): pgcrypto is not in every server this
-- project runs on (the embedded one has no contrib modules).

DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'member_portal_user') THEN
        -- Roles are cluster-wide: created when missing, never dropped by a downgrade. No
        -- password: the operator of the member-facing application sets one.
        CREATE ROLE member_portal_user LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created meanwhile by a migration of another database of the same server
END
$role$;

-- Owner-only objects: the signing key and the bindings. No role but the owner has any
-- right on this schema.
CREATE SCHEMA member_service_private;
REVOKE ALL ON SCHEMA member_service_private FROM PUBLIC;

CREATE TABLE member_service_private.session_key (
    id         BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    key        BYTEA NOT NULL CHECK (length(key) >= 32),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
-- 32 bytes from the server's strong random source (gen_random_uuid: 122 random bits each).
INSERT INTO member_service_private.session_key (key)
SELECT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())
    || uuid_send(gen_random_uuid());

CREATE UNLOGGED TABLE member_service_private.session_binding (
    pid           INTEGER NOT NULL,
    backend_start TIMESTAMP WITH TIME ZONE NOT NULL,
    member_id     UUID NOT NULL,
    expires_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    bound_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (pid, backend_start)
);
REVOKE ALL ON ALL TABLES IN SCHEMA member_service_private FROM PUBLIC;

CREATE FUNCTION member_service_private.hmac_sha256(key BYTEA, message BYTEA)
RETURNS BYTEA
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k BYTEA := key;
    inner_pad BYTEA;
    outer_pad BYTEA;
BEGIN
    IF length(k) > 64 THEN
        k := sha256(k);
    END IF;
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    inner_pad := k;
    outer_pad := k;
    FOR i IN 0..63 LOOP
        inner_pad := set_byte(inner_pad, i, get_byte(k, i) # 54);  -- 0x36
        outer_pad := set_byte(outer_pad, i, get_byte(k, i) # 92);  -- 0x5c
    END LOOP;
    RETURN sha256(outer_pad || sha256(inner_pad || message));
END
$$;
REVOKE ALL ON FUNCTION member_service_private.hmac_sha256(BYTEA, BYTEA) FROM PUBLIC;

-- The member this session is bound to (NULL = none, or the binding expired). Read by the
-- portal policy; the session cannot write what it reads.
CREATE FUNCTION member_service.bound_member()
RETURNS UUID
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.member_id
    FROM member_service_private.session_binding AS b
    WHERE b.pid = pg_backend_pid()
      AND b.backend_start = (SELECT a.backend_start FROM pg_stat_get_activity(pg_backend_pid()) AS a)
      AND b.expires_at > clock_timestamp()
$$;

-- Bind this session to the member of a token `<member uuid>.<expiry, unix seconds>.<hex
-- HMAC-SHA256 of "<member uuid>.<expiry>">`. Refused: a malformed, forged or expired token,
-- and any second bind of the same session.
CREATE FUNCTION member_service.bind_member_session(token TEXT)
RETURNS UUID
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts TEXT[];
    signature BYTEA;
    started TIMESTAMP WITH TIME ZONE;
    expires TIMESTAMP WITH TIME ZONE;
BEGIN
    IF token IS NULL OR token !~ ('^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                                  '[0-9a-f]{12}\.[0-9]{1,12}\.[0-9a-f]{64}$') THEN
        RAISE EXCEPTION 'member session token refused: malformed'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    parts := string_to_array(token, '.');
    SELECT member_service_private.hmac_sha256(k.key, convert_to(parts[1] || '.' || parts[2], 'UTF8'))
    INTO signature
    FROM member_service_private.session_key AS k;
    IF signature IS NULL OR encode(signature, 'hex') <> parts[3] THEN
        RAISE EXCEPTION 'member session token refused: bad signature'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    expires := to_timestamp(parts[2]::BIGINT);
    IF expires <= clock_timestamp() THEN
        RAISE EXCEPTION 'member session token refused: expired'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT a.backend_start INTO STRICT started FROM pg_stat_get_activity(pg_backend_pid()) AS a;
    -- Bindings of sessions that ended (a later backend may reuse the pid).
    DELETE FROM member_service_private.session_binding AS b
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_stat_get_activity(NULL) AS a
        WHERE a.pid = b.pid AND a.backend_start = b.backend_start
    );
    IF EXISTS (
        SELECT 1 FROM member_service_private.session_binding AS b
        WHERE b.pid = pg_backend_pid() AND b.backend_start = started
    ) THEN
        RAISE EXCEPTION 'member session already bound: a session binds once; reconnect'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO member_service_private.session_binding (pid, backend_start, member_id, expires_at)
    VALUES (pg_backend_pid(), started, parts[1]::UUID, expires);
    RETURN parts[1]::UUID;
END
$$;

REVOKE ALL ON FUNCTION member_service.bound_member() FROM PUBLIC;
REVOKE ALL ON FUNCTION member_service.bind_member_session(TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION member_service.bound_member(),
    member_service.bind_member_session(TEXT) TO member_portal_user;

-- The policies: by role, not by setting.
DROP POLICY member_select ON member_service.member;
DROP POLICY member_insert ON member_service.member;
DROP POLICY member_update ON member_service.member;

-- Batch (member_service_user): every member; no policy allows DELETE (nor does a grant).
CREATE POLICY member_batch_select ON member_service.member
    FOR SELECT TO member_service_user
    USING (true);
CREATE POLICY member_batch_insert ON member_service.member
    FOR INSERT TO member_service_user
    WITH CHECK (true);
CREATE POLICY member_batch_update ON member_service.member
    FOR UPDATE TO member_service_user
    USING (true)
    WITH CHECK (true);

-- Member-facing (member_portal_user): the bound member, read only.
CREATE POLICY member_portal_select ON member_service.member
    FOR SELECT TO member_portal_user
    USING (id = member_service.bound_member());

GRANT USAGE ON SCHEMA member_service TO member_portal_user;
GRANT SELECT ON member_service.member TO member_portal_user;
