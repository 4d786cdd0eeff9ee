"""Maker-checker through a deployment: a real `prefect server`, `claims-askes deploy`, and one
real process worker (the fixtures of tests/test_deployments_e2e.py) run `payment-run`.

A run with a batch above the approval threshold sends what is under it and suspends with the
batch summary as the resume form's description; it holds no worker, so the next day's run
prepares (and here also waits for) its own batches meanwhile. `claims-askes payments approve`
from a shell decides one of those and resumes the waiting run, which sends it once and asks
about the next; a reject through the API, as the UI's resume form sends it, holds the batch's
payments and writes nothing; the first run, approved the same way, writes its bank files.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import FlowRun

from tests.conftest import TestDatabase
from tests.payments.helpers import ACCOUNTS, KEY_TEXT, build_world, connect
from tests.scenario import Line
from tests.test_deployments_e2e import (  # noqa: F401 (fixtures used by name)
    CLI,
    RUN_TIMEOUT,
    PrefectServer,
    deployed,
    prefect_server,
    wait_for_runs,
    workers,
)

pytestmark = [pytest.mark.slow, pytest.mark.embedded_only]

PAYMENT_RUN = "payment-run/payment-run"


@pytest.fixture(scope="module")
def bank_key_env(test_env: dict[str, str]) -> Iterator[None]:
    """The bank key in the environment before the server's (and so the worker's) is taken."""
    saved = os.environ.get("CLAIMS_ASKES_BANK_KEY")
    os.environ["CLAIMS_ASKES_BANK_KEY"] = KEY_TEXT
    yield
    if saved is None:
        os.environ.pop("CLAIMS_ASKES_BANK_KEY", None)
    else:
        os.environ["CLAIMS_ASKES_BANK_KEY"] = saved


@pytest.fixture(scope="module")
def server(bank_key_env: None, deployed: PrefectServer) -> PrefectServer:  # noqa: F811
    assert deployed.env["CLAIMS_ASKES_BANK_KEY"] == KEY_TEXT
    return deployed


def start_run(server: PrefectServer, **parameters: Any) -> uuid.UUID:
    with server.client() as client:
        deployment = client.read_deployment_by_name(PAYMENT_RUN)
        return client.create_flow_run_from_deployment(deployment.id, parameters=parameters).id


def wait_suspended(server: PrefectServer, run_id: uuid.UUID, batch: str, logs: Any) -> FlowRun:
    """Until the run is suspended for `batch`'s approval (fails if it ends first)."""
    key = f"approve-{batch.lower()}"
    deadline = time.monotonic() + RUN_TIMEOUT
    with server.client() as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            state = run.state
            if state and state.is_paused() and state.state_details.pause_key == key:
                return run
            if state and state.is_final():
                pytest.fail(f"run ended {state.name}: {state.message}\n{logs()}")
            time.sleep(1)
    pytest.fail(f"run not suspended for {batch} after {RUN_TIMEOUT} s\n{logs()}")


def resume(server: PrefectServer, run_id: uuid.UUID, **answer: Any) -> None:
    """What the UI's resume form does: POST /flow_runs/{id}/resume with the typed input."""
    with server.client() as client:
        response = client.resume_flow_run(run_id, run_input=answer)
    assert response.status.value == "ACCEPT", response


def batches(conn: Any) -> dict[str, tuple[str, str | None]]:
    return {
        number: (status, run)
        for number, status, run in conn.execute(
            "SELECT batch_number, status, flow_run_id::text FROM payment_service.payment_batch"
        ).fetchall()
    }


def test_approval_through_a_deployment_ui_form_and_shell_while_the_next_run_goes_on(
    server: PrefectServer,
    module_db: TestDatabase,
    prefect_api: str,
    workers: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    with connect(module_db) as conn:
        world = build_world(conn)
    workers("payments-worker")
    # Day 1: the provider batch (Rp 375,000) is above Rp 300,000, the member's (285,000) not.
    first = start_run(
        server, value_date="2026-04-01", approval_threshold="300000", outbox=str(outbox)
    )
    waiting = wait_suspended(server, first, "PAY-20260401-P-001", workers.logs)
    assert waiting.state is not None and waiting.state.name == "Suspended"
    keyset = waiting.state.state_details.run_input_keyset
    assert keyset is not None
    with server.client() as client:
        form = client.read_flow_run_input(first, keyset["description"])
        schema = json.loads(client.read_flow_run_input(first, keyset["schema"]))
    summary = str(json.loads(form)) if form.startswith('"') else form
    assert "Batch PAY-20260401-P-001 needs approval" in summary
    assert "3 payments to providers, total Rp 375,000.00" in summary
    assert "*********9012" in summary and "5123456789012" not in summary  # masked
    assert {"decision", "approver", "comment"} <= set(schema["properties"])
    # The member batch under the threshold was sent before the run suspended.
    assert sorted(p.name for p in outbox.iterdir()) == [
        "PAY-20260401-M-001.csv",
        "PAY-20260401-M-001.pain001.xml",
    ]

    # Day 2 while day 1 waits: new approved claims, a run that prepares its own batches
    # (both above a threshold of 0) and waits for them in turn.
    from flows.claim_adjudication import claim_adjudication

    s = world.scenario
    assert s is not None
    with connect(module_db) as conn:
        s.conn = conn
        s.claim(world.member, world.hospital, date(2026, 3, 20), [Line("OP_GP", 200_000)])
        s.claim(
            world.member,
            world.hospital,
            date(2026, 3, 21),
            [Line("OP_GP", 110_000)],
            claim_type="reimbursement",
        )
    claim_adjudication()
    second = start_run(server, value_date="2026-04-02", approval_threshold="0", outbox=str(outbox))
    wait_suspended(server, second, "PAY-20260402-M-001", workers.logs)
    with connect(module_db) as conn:
        assert batches(conn) == {
            "PAY-20260401-M-001": ("sent", str(first)),
            "PAY-20260401-P-001": ("draft", str(first)),
            "PAY-20260402-M-001": ("draft", str(second)),
            "PAY-20260402-P-001": ("draft", str(second)),
        }

    # A shell approves the second run's member batch: the waiting run goes on, sends it once
    # and then waits for its provider batch.
    env = dict(server.env, DATABASE_URL=module_db.url)
    shell = subprocess.run(
        [CLI, "payments", "approve", "PAY-20260402-M-001", "--by", "Budi Santoso"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shell.returncode == 0, shell.stdout + shell.stderr
    assert "the payment run waiting for this decision goes on" in shell.stdout
    wait_suspended(server, second, "PAY-20260402-P-001", workers.logs)
    again = subprocess.run(
        [CLI, "payments", "approve", "PAY-20260402-M-001", "--by", "Budi Santoso"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 2 and "decided before" in again.stdout + again.stderr

    # The UI's form: reject the second run's provider batch, approve the first run's.
    resume(server, second, decision="reject", approver="Sri Wahyuni", comment="duplicate?")
    resume(server, first, decision="approve", approver="Dewi Lestari", comment="checked")
    wait_for_runs(server, [first, second], workers.logs)

    with connect(module_db) as conn:
        assert {k: v[0] for k, v in batches(conn).items()} == {
            "PAY-20260401-M-001": "sent",
            "PAY-20260401-P-001": "sent",
            "PAY-20260402-M-001": "sent",
            "PAY-20260402-P-001": "rejected",
        }
        decisions = conn.execute(
            "SELECT b.batch_number, a.decision, a.decided_by, a.comment, a.source, "
            "a.flow_run_id::text FROM payment_service.batch_approval AS a "
            "JOIN payment_service.payment_batch AS b ON b.id = a.batch_id ORDER BY 1"
        ).fetchall()
        files = conn.execute(
            "SELECT b.batch_number, count(*) FROM payment_service.bank_file AS f "
            "JOIN payment_service.payment_batch AS b ON b.id = f.batch_id GROUP BY 1 ORDER BY 1"
        ).fetchall()
        sent_twice = conn.execute(
            "SELECT count(*) FROM (SELECT payment_id, attempt FROM payment_service.payment_event "
            "WHERE status = 'sent' GROUP BY 1, 2 HAVING count(*) > 1) AS t"
        ).fetchone()[0]
        held = conn.execute(
            "SELECT count(*), min(p.hold_reason) FROM payment_service.payment AS p "
            "JOIN payment_service.payment_batch AS b ON b.id = p.batch_id "
            "WHERE b.batch_number = 'PAY-20260402-P-001' AND p.status = 'held'"
        ).fetchone()
    assert decisions == [
        (
            "PAY-20260401-M-001",
            "approve",
            "payment-run (under the approval threshold)",
            None,
            "auto",
            str(first),
        ),
        ("PAY-20260401-P-001", "approve", "Dewi Lestari", "checked", "ui", str(first)),
        ("PAY-20260402-M-001", "approve", "Budi Santoso", None, "cli", None),
        ("PAY-20260402-P-001", "reject", "Sri Wahyuni", "duplicate?", "ui", str(second)),
    ]
    assert files == [
        ("PAY-20260401-M-001", 2),
        ("PAY-20260401-P-001", 2),
        ("PAY-20260402-M-001", 2),
    ]
    assert sent_twice == 0
    assert held == (1, "batch PAY-20260402-P-001 rejected by Sri Wahyuni: duplicate?")
    assert sorted(p.name for p in outbox.glob("*.pain001.xml")) == [
        "PAY-20260401-M-001.pain001.xml",
        "PAY-20260401-P-001.pain001.xml",
        "PAY-20260402-M-001.pain001.xml",
    ]
    assert not list(outbox.glob("PAY-20260402-P-001*"))

    # No account number in what the runs showed: logs, artifacts, the approval forms.
    with server.client() as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[first, second]))
        )
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[first, second]))
        )
    assert logs and artifacts
    shown = "\n".join(
        [
            *(entry.message for entry in logs),
            *(json.dumps(a.model_dump(mode="json")) for a in artifacts),
            summary,
            workers.logs(),
        ]
    )
    assert all(number not in shown for number in ACCOUNTS.values())
