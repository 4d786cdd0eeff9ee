"""Signed tokens that bind a member-facing session (`member_portal_user`) to one member.

A token is `<member uuid>.<expiry, unix seconds>.<hex HMAC-SHA256 of "<uuid>.<expiry>">`, with
the key of `member_service_private.session_key`, which only the owner reads. The session
presents it once, to `member_service.bind_member_session(token)` (SECURITY DEFINER), which
verifies it, refuses a second bind, and records the binding where the session cannot write;
the row-level security policy of `member_portal_user` then shows that member alone. See
docs/database.md, "Roles and row-level security".
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta
from uuid import UUID

from claims_askes.core.settings import Settings
from claims_askes.db.connections import admin_connection, on_server, server_of

DEFAULT_TTL = timedelta(minutes=15)


def sign_member_token(key: bytes, member_id: UUID | str, expires_at: int) -> str:
    """The token for `member_id`, valid until `expires_at` (unix seconds), signed with `key`."""
    message = f"{UUID(str(member_id))}.{int(expires_at)}"
    signature = hmac.new(key, message.encode(), hashlib.sha256).hexdigest()
    return f"{message}.{signature}"


def session_key(settings: Settings | None = None) -> bytes:
    """The signing key (admin connection: no service role may read it)."""
    # On the member service's server, wherever the services live (`servers()`).
    with on_server(server_of("member_service", settings)), admin_connection() as conn:
        row = conn.execute("SELECT key FROM member_service_private.session_key").fetchone()
    if row is None:
        from claims_askes.core.errors import ConfigError

        raise ConfigError("member_service_private.session_key: empty; run `db upgrade`")
    return bytes(row[0])


def mint_member_token(
    member_id: UUID | str, *, ttl: timedelta = DEFAULT_TTL, settings: Settings | None = None
) -> str:
    """A token binding a member-facing session to `member_id` for `ttl` from now."""
    if ttl <= timedelta(0):
        raise ValueError("ttl must be positive")
    expires_at = int(time.time() + ttl.total_seconds())
    return sign_member_token(session_key(settings), member_id, expires_at)
