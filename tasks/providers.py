"""Tasks of the provider service: `provider_service` only, through its own connection."""

from __future__ import annotations

import pandas as pd
from prefect import task

from claims_askes.db import service_connection
from claims_askes.frames_io import fetch_frame
from claims_askes.sqlfiles import queries

Q = queries("provider_service")


@task(name="read contracts and fee schedules")
def read_contracts_and_fee_schedules(provider_ids: list[str]
                                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    with service_connection("provider") as conn:
        contracts = fetch_frame(conn, Q.contracts_by_provider, {"provider_ids": provider_ids})
        fees = fetch_frame(conn, Q.fee_schedules_by_provider, {"provider_ids": provider_ids})
    return contracts, fees
