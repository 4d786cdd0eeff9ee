"""What a flow run left in Prefect's API, as text: the tests that look for secrets or account
numbers read it from here, so that every one of them reads the same things."""

from __future__ import annotations

import asyncio
import time
from typing import Any


def run_logs_and_artifacts(flow_run_id: str, wait_seconds: float = 30) -> str:
    """Every log message and artifact of a flow run, joined; waits (up to `wait_seconds`)
    until both have arrived, since logs reach the API in batches, a moment later."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def read() -> tuple[list[Any], list[Any]]:
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
            )
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )
            return logs, artifacts

    deadline = time.monotonic() + wait_seconds
    logs, artifacts = asyncio.run(read())
    while not (logs and artifacts) and time.monotonic() < deadline:
        time.sleep(0.5)
        logs, artifacts = asyncio.run(read())
    assert logs and artifacts
    return "\n".join([*(log.message for log in logs), *(str(a.data) for a in artifacts)])
