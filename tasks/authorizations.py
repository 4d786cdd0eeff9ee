"""Tasks of the authorization service: `authorization_service` only."""

from __future__ import annotations

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from claims_askes.db import service_connection
from claims_askes.frames_io import fetch_frame
from claims_askes.sqlfiles import queries

Q = queries("authorization_service")


@task(name="read authorizations", cache_policy=NO_CACHE)
def read_authorizations(member_ids: list[str]) -> pd.DataFrame:
    with service_connection("authorization") as conn:
        return fetch_frame(conn, Q.authorizations_by_member, {"member_ids": member_ids})
