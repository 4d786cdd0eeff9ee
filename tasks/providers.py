"""Tasks of the provider service: `provider_service` only, through its own connection."""

from __future__ import annotations

import pandas as pd

from claims_askes.db.connections import service_connection
from claims_askes.db.frames import fetch_frame
from claims_askes.db.sqlfiles import queries
from tasks.base import batch_task

Q = queries("provider_service")


@batch_task(name="read contracts and fee schedules")
def read_contracts_and_fee_schedules(
    provider_ids: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Contracts, fee schedules, and which of the providers the registry knows (I23)."""
    with service_connection("provider") as conn:
        contracts = fetch_frame(conn, Q.contracts_by_provider, {"provider_ids": provider_ids})
        fees = fetch_frame(conn, Q.fee_schedules_by_provider, {"provider_ids": provider_ids})
        known = fetch_frame(conn, Q.known_providers, {"provider_ids": provider_ids})
    return contracts, fees, set(known["provider_id"]) if len(known) else set()
