"""One paid world shared by the payment tests that only read it (a session-scoped database:
building it adjudicates claims and runs the payment run twice)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.payment_run import payment_run
from schemas.payments import PaymentRunReport
from tests.conftest import Cluster, TestDatabase, fresh_database
from tests.payments.helpers import World, build_world, use_key

Paid = tuple[TestDatabase, World, Path, PaymentRunReport, PaymentRunReport]


@pytest.fixture(scope="session")
def paid(
    cluster: Cluster, template_db: str, prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Paid]:
    """A world paid by two payment runs on 1 April 2026 (the second finds nothing to do)."""
    use_key()
    outbox = tmp_path_factory.mktemp("outbox")
    with fresh_database(cluster, template_db) as database:
        with database.admin() as conn:
            world = build_world(conn)
        first = payment_run(outbox=str(outbox), value_date="2026-04-01")
        second = payment_run(outbox=str(outbox), value_date="2026-04-01")
        yield database, world, outbox, first, second
