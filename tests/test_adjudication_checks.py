"""The decision checkpoint stops the write: when the engine's output breaks one of its
promises, nothing reaches the database, the claims go back to the queue, and the run fails
naming the expectation and the offending rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import flows.claim_adjudication as adjudication_flow
import flows.steps.adjudication as adjudication_steps
from claims_askes.adjudication import EngineInput, EngineResult, adjudicate
from claims_askes.operations.backup import count_rows
from claims_askes.quality.checkpoints import DataQualityError
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario


def overpaying_engine(inputs: EngineInput, **options: Any) -> EngineResult:
    """The real engine, then one approved line paid Rp 1 more than it allows: a bug the
    decision checkpoint must catch."""
    result = adjudicate(inputs, **options)
    lines = result.lines.copy()
    first = lines.index[lines["status"] == "approved"][0]
    lines.loc[first, "approved_cents"] = lines.loc[first, "allowed_cents"] + 100
    return EngineResult(lines=lines, claims=result.claims)


def test_failed_decision_checkpoint_writes_nothing(
    db: TestDatabase, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-CHECK")
        s.benefit(plan, "OP_GP", copay_amount=10_000)
        hospital = s.provider()
        numbers = [
            s.claim(s.member(plan), hospital, date(2026, 3, 2), [Line("OP_GP", 100_000 + i)])
            for i in range(3)
        ]
        monkeypatch.setattr(adjudication_steps, "adjudicate", overpaying_engine)
        with pytest.raises(DataQualityError) as failure:
            adjudication_flow.claim_adjudication()
        message = str(failure.value)
        assert "adjudication-decisions-lines" in message
        assert "approved_cents" in message and "allowed_cents" in message
        assert "parts_add_up_to_allowed" in message
        assert "1 unexpected" in message and "line_id=" in message
        # Nothing written, claims back in the queue as they were.
        assert (
            conn.execute(
                "SELECT status, lease_owner, adjudicated_at FROM claims_service.claim "
                "ORDER BY claim_number"
            ).fetchall()
            == [("submitted", None, None)] * 3
        )
        assert conn.execute(
            "SELECT count(*) FROM claims_service.claim_item WHERE adjudicated_at IS NOT NULL"
        ).fetchone() == (0,)
        written = count_rows(
            conn,
            [
                ("claims_service", "claim_status_history"),
                ("claims_service", "claim_payment"),
                ("claims_service", "claim_note"),
                ("benefit_service", "accumulator_posting"),
                ("benefit_service", "accumulator"),
            ],
        )
        assert {f"{t.schema_name}.{t.table}": t.rows for t in written if t.rows} == {}
        # With the engine fixed, the next run adjudicates them.
        monkeypatch.undo()
        summary = adjudication_flow.claim_adjudication()
        assert summary.claims == 3
        assert {s.claim_row(n)["status"] for n in numbers} == {"approved"}
