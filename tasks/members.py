"""Tasks of the member service: `member_service` only, through its own connection
(which declares itself a batch session to the row-level security policies)."""

from __future__ import annotations

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from claims_askes.db import service_connection
from claims_askes.frames_io import fetch_frame
from claims_askes.sqlfiles import queries

Q = queries("member_service")


@task(name="read members and coverages", cache_policy=NO_CACHE)
def read_members_and_coverages(member_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    with service_connection("member") as conn:
        members = fetch_frame(conn, Q.members_by_id, {"member_ids": member_ids})
        coverages = fetch_frame(conn, Q.coverages_by_member, {"member_ids": member_ids})
    return members, coverages
