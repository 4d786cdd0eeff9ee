"""Maker-checker: a batch above the threshold is paid only after a person's decision, given
in Prefect's resume form (a real run paused with a typed input) or from a shell; the
decision is recorded once."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from typer.testing import CliRunner

from claims_askes.cli.app import app
from flows.payment_run import payment_run
from tests.conftest import TestDatabase
from tests.payments.helpers import build_world, connect, use_key


def paused_runs() -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            )
        )


def test_a_batch_above_the_threshold_waits_for_an_approver_in_the_prefect_ui(
    db: TestDatabase, prefect_api: str, tmp_path: Path
) -> None:
    use_key()
    with connect(db) as conn:
        build_world(conn)
    results: dict[str, Any] = {}

    def run() -> None:
        # provider batch Rp 375,000 (3 x (150,000 - 25,000 copay)) is above Rp 300,000;
        # the member batch (Rp 285,000) is not
        results["report"] = payment_run(
            outbox=str(tmp_path),
            value_date="2026-04-01",
            approval_threshold="300000",
            approval_wait_seconds=120,
        )

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 90
    while not (paused := paused_runs()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert paused, "the run never paused for approval"
    with connect(db) as conn:
        waiting = conn.execute(
            "SELECT batch_number, status FROM payment_service.payment_batch WHERE approval_required"
        ).fetchall()
    assert waiting == [("PAY-20260401-P-001", "draft")]
    assert not list(tmp_path.glob("PAY-20260401-P-001.*"))  # no file before the decision
    resume_flow_run(
        paused[0].id,
        run_input={"decision": "approve", "approver": "Dewi Lestari", "comment": "checked"},
    )
    thread.join(120)
    report = results["report"]
    assert report.awaiting_approval == []
    assert (tmp_path / "PAY-20260401-P-001.pain001.xml").is_file()
    with connect(db) as conn:
        decisions = conn.execute(
            "SELECT b.batch_number, a.decision, a.decided_by, a.comment, a.source "
            "FROM payment_service.batch_approval AS a "
            "JOIN payment_service.payment_batch AS b ON b.id = a.batch_id ORDER BY 1"
        ).fetchall()
    assert decisions == [
        (
            "PAY-20260401-M-001",
            "approve",
            "payment-run (under the approval threshold)",
            None,
            "auto",
        ),
        ("PAY-20260401-P-001", "approve", "Dewi Lestari", "checked", "ui"),
    ]


def test_a_shell_approves_or_rejects_a_waiting_batch_once(
    db: TestDatabase, prefect_api: str, tmp_path: Path
) -> None:
    use_key()
    with connect(db) as conn:
        build_world(conn)
    first = payment_run(outbox=str(tmp_path), value_date="2026-04-01", approval_threshold="0")
    assert first.awaiting_approval == ["PAY-20260401-M-001", "PAY-20260401-P-001"]
    assert first.files_written == []
    runner = CliRunner()
    ok = runner.invoke(app, ["payments", "approve", "PAY-20260401-P-001", "--by", "Dewi"])
    assert ok.exit_code == 0, ok.output
    no = runner.invoke(
        app, ["payments", "reject", "PAY-20260401-M-001", "--by", "Budi", "--comment", "check"]
    )
    assert no.exit_code == 0, no.output
    again = runner.invoke(app, ["payments", "approve", "PAY-20260401-M-001", "--by", "Dewi"])
    assert again.exit_code == 2
    assert "decided before" in again.output and "Traceback" not in again.output
    unknown = runner.invoke(app, ["payments", "approve", "PAY-NONE", "--by", "Dewi"])
    assert unknown.exit_code == 2 and "no batch 'PAY-NONE'" in unknown.output
    second = payment_run(outbox=str(tmp_path), value_date="2026-04-01", approval_threshold="0")
    assert sorted(Path(p).name for p in second.files_written) == [
        "PAY-20260401-P-001.csv",
        "PAY-20260401-P-001.pain001.xml",
    ]
    with connect(db) as conn:
        held = conn.execute(
            "SELECT count(*), min(hold_reason) FROM payment_service.payment "
            "WHERE status = 'held' AND payee_type = 'member'"
        ).fetchone()
        batches = dict(
            conn.execute(
                "SELECT batch_number, status FROM payment_service.payment_batch"
            ).fetchall()
        )
    assert held == (3, "batch PAY-20260401-M-001 rejected by Budi: check")
    assert batches == {"PAY-20260401-M-001": "rejected", "PAY-20260401-P-001": "sent"}
