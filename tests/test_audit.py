"""The audit log records content changes of claim lines, not their posting marks."""

from __future__ import annotations

from datetime import date

from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario


def line_update_rows(db: TestDatabase) -> int:
    return int(
        str(
            db.scalar(
                "SELECT count(*) FROM audit.audit_log WHERE table_name = 'claim_item' "
                "AND operation = 'UPDATE'"
            )
        )
    )


def test_bookkeeping_is_not_audited_but_content_is(db: TestDatabase) -> None:
    """A touch of updated_at alone is bookkeeping (the posting mark of a line is no update
    of claim_item at all any more, but a posting_outbox row); a change of content is logged."""
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-AUDIT")
        number = s.claim(
            s.member(plan),
            s.provider(),
            date(2026, 3, 1),
            [Line("LAB", 10_000), Line("LAB", 20_000, procedure_code="L2")],
        )
        conn.execute(
            "UPDATE claims_service.claim_item SET updated_at = now() "
            "WHERE claim_id = (SELECT id FROM "
            "claims_service.claim WHERE claim_number = %s)",
            (number,),
        )
        assert line_update_rows(db) == 0
        conn.execute(
            "UPDATE claims_service.claim_item SET approved_amount = 5 "
            "WHERE line_number = 2 AND claim_id = (SELECT id FROM "
            "claims_service.claim WHERE claim_number = %s)",
            (number,),
        )
        assert line_update_rows(db) == 1
        old, new = conn.execute(
            "SELECT old_data ->> 'approved_amount', new_data ->> 'approved_amount' "
            "FROM audit.audit_log WHERE table_name = 'claim_item' AND operation = 'UPDATE'"
        ).fetchone() or (None, None)
        assert (old, new) == (None, "5.00")
        # Any other table keeps the full update audit.
        conn.execute(
            "UPDATE claims_service.claim SET updated_by = 'x' WHERE claim_number = %s", (number,)
        )
        assert (
            db.scalar(
                "SELECT count(*) FROM audit.audit_log WHERE table_name = 'claim' "
                "AND operation = 'UPDATE'"
            )
            == 1
        )
