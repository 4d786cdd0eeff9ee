"""Tasks of the authorization service: `authorization_service` only."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from claims_askes.db.connections import service_connection
from claims_askes.db.frames import fetch_frame
from claims_askes.db.sqlfiles import queries
from tasks.base import batch_task

Q = queries("authorization_service")


@batch_task(name="read authorizations")
def read_authorizations(member_ids: list[str]) -> pd.DataFrame:
    with service_connection("authorization") as conn:
        return fetch_frame(conn, Q.authorizations_by_member, {"member_ids": member_ids})


@batch_task(name="read authorization changes")
def read_authorization_changes(member_ids: list[str], since: datetime) -> pd.DataFrame:
    """member_id, changed_at: the members' latest authorization change at or after `since`."""
    with service_connection("authorization") as conn:
        return fetch_frame(
            conn, Q.authorization_changes, {"member_ids": member_ids, "since": since}
        )
