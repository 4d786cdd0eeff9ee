"""Tasks of the member service: `member_service` only, through its own connection
(which declares itself a batch session to the row-level security policies)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from claims_askes.db.connections import service_connection
from claims_askes.db.frames import fetch_frame
from claims_askes.db.sqlfiles import queries
from tasks.base import batch_task

Q = queries("member_service")


@batch_task(name="read members and coverages")
def read_members_and_coverages(member_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    with service_connection("member") as conn:
        members = fetch_frame(conn, Q.members_by_id, {"member_ids": member_ids})
        coverages = fetch_frame(conn, Q.coverages_by_member, {"member_ids": member_ids})
    return members, coverages


@batch_task(name="read member and coverage changes")
def read_coverage_changes(member_ids: list[str], since: datetime) -> pd.DataFrame:
    """member_id, changed_at: the latest change of each member's row or coverages at or
    after `since`."""
    with service_connection("member") as conn:
        return fetch_frame(conn, Q.coverage_changes, {"member_ids": member_ids, "since": since})
