"""Facts about the running flow."""

from __future__ import annotations

import uuid


def current_flow_run_id() -> uuid.UUID:
    """The Prefect flow run's id (a fresh id outside a flow run, e.g. in a plain call)."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return uuid.UUID(str(run_id)) if run_id else uuid.uuid4()
