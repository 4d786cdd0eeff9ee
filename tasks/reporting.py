"""Tasks of the claims dashboard: each reads one schema through the read-only reporting
connection (`reporting_user`), or the Prefect API for the failed runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from claims_askes.reporting import sources
from claims_askes.reporting.model import FailedRun
from schemas.dashboard import DashboardParameters
from tasks.base import batch_task

EPHEMERAL_NOTE = (
    "Prefect's ephemeral API (PREFECT_API_URL unset): run ids only, there is no UI to link "
    "to; set PREFECT_API_URL (and PREFECT_UI_URL) for links."
)


@batch_task(name="read claims (claims_service)")
def read_claims(params: DashboardParameters) -> sources.ClaimsFacts:
    return sources.read_claims(params)


@batch_task(name="read providers (provider_service)")
def read_providers(ids: list[str]) -> dict[str, dict[str, str]]:
    return sources.read_providers(ids)


@batch_task(name="read payments (payment_service)")
def read_payments(window_days: int) -> list[dict[str, Any]]:
    return sources.read_payments(window_days)


@batch_task(name="read decision times of paid claims (claims_service)")
def read_decided_at(claim_ids: list[str]) -> dict[str, datetime]:
    return sources.read_decided_at(claim_ids)


def ui_base_url() -> str | None:
    """The Prefect UI's base URL (PREFECT_UI_URL, else PREFECT_API_URL without `/api`); None
    on the ephemeral API, which has no UI."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.ui_url:
        return str(settings.ui_url).rstrip("/")
    if settings.api.url:
        return str(settings.api.url).rstrip("/").removesuffix("/api")
    return None


def first_line(message: str | None, limit: int = 300) -> str:
    """A state's message as one line of at most `limit` characters."""
    lines = (message or "").strip().splitlines()
    return lines[0][:limit] if lines else ""


@batch_task(name="read failed runs (Prefect API)")
def failed_runs(hours: int, limit: int = 100) -> tuple[list[FailedRun], str]:
    """Flow runs that ended FAILED or CRASHED in the last `hours`, newest first, with a link
    to each in the Prefect UI when there is one."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterId,
        FlowRunFilter,
        FlowRunFilterEndTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    since = datetime.now(UTC) - timedelta(hours=hours)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])
                ),
                end_time=FlowRunFilterEndTime(after_=since),
            ),
            sort=FlowRunSort.END_TIME_DESC,
            limit=limit,
        )
        flow_ids = sorted({r.flow_id for r in runs}, key=str)
        flows = (
            {
                f.id: f.name
                for f in client.read_flows(flow_filter=FlowFilter(id=FlowFilterId(any_=flow_ids)))
            }
            if flow_ids
            else {}
        )
    base = ui_base_url()
    return [
        FailedRun(
            flow=flows.get(r.flow_id, str(r.flow_id)),
            name=r.name,
            run_id=str(r.id),
            state=(r.state.name if r.state else None) or "?",
            when=r.end_time or r.start_time,
            message=first_line(r.state.message if r.state else None),
            url=f"{base}/runs/flow-run/{r.id}" if base else None,
        )
        for r in runs
    ], ("" if base else EPHEMERAL_NOTE)
