"""The audit log records content changes of claim lines, not their posting marks; registered
batch runs are audited per statement, and lose no row version row audit would keep."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from datetime import date

import psycopg
from psycopg import sql

from tests.conftest import Cluster, TestDatabase, fresh_database
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


# --- Issue 14: statement audit of registered batch runs -------------------------------------

#: columns whose values are the run's own (times, generated ids, flow runs): two runs of one
#: scenario differ in them, so versions are compared without them
VOLATILE = {
    "created_at",
    "updated_at",
    "changed_at",
    "adjudicated_at",
    "flow_run_id",
    "adjudication_run_id",
    "last_updated",
    "settled_at",
    "superseded_at",
    "superseded_by_run",
}
#: tables whose rows are inserted with generated ids (compared without the id)
GENERATED_IDS = {
    "claim_status_history",
    "claim_note",
    "claim_payment",
    "claim_readjustment",
    "accumulator",
}
DECISION_COLUMNS = [
    "status", "reason_code", "allowed_amount", "deductible_amount", "copay_amount",
    "coinsurance_amount", "network_reduction_amount", "limit_amount", "approved_amount",
    "member_responsibility", "oop_amount", "covered_days", "visits", "adjudicated_at",
    "in_network", "coverage_id", "plan_id", "benefit_year",
]  # fmt: skip


def normal(table: str, content: dict[str, object]) -> str:
    """A version's content without what differs between two runs, as canonical JSON."""
    import json

    drop = VOLATILE | ({"id"} if table in GENERATED_IDS else set())
    return json.dumps({k: v for k, v in content.items() if k not in drop}, sort_keys=True)


def build_readjudication_world(db: TestDatabase) -> tuple[list[str], uuid.UUID]:
    """Two members, three months of claims each; returns the claims to re-adjudicate after
    the first member's coverage is ended retroactively (and that member)."""
    with db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-STMT", oop_max=500_000)
        s.benefit(plan, "LAB", deductible_amount=100_000, coinsurance_percentage=20,
                  annual_limit=5_000_000)  # fmt: skip
        s.benefit(plan, "OP_GP", copay_amount=25_000, visit_limit=5)
        hospital = s.provider()
        retro, other = s.member(plan), s.member(plan)
        numbers: dict[uuid.UUID, list[str]] = {retro: [], other: []}
        for member in (retro, other):
            for day in (date(2026, 1, 10), date(2026, 2, 10), date(2026, 3, 10)):
                numbers[member].append(
                    s.claim(member, hospital, day, [Line("LAB", 150_000), Line("OP_GP", 120_000)])
                )
    return numbers[retro][1:], retro


def run_scenario(claim_numbers: list[str], member: uuid.UUID) -> None:
    """Adjudication (posting included), a retroactive end of coverage, re-adjudication,
    posting: every batch kind of the claims and benefit services."""
    from flows.accumulator_posting import accumulator_posting
    from flows.claim_adjudication import claim_adjudication
    from flows.claim_readjudication import claim_readjudication

    claim_adjudication()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "UPDATE member_service.member_coverage SET termination_date = %s, "
            "status = 'terminated' WHERE member_id = %s",
            (date(2026, 1, 31), member),
        )
    claim_readjudication(claim_numbers=claim_numbers, reason="retroactive termination")
    accumulator_posting()


def row_audited_versions(
    conn: psycopg.Connection, after: int, decided: set[tuple[str, str, str]]
) -> dict[str, Counter[str]]:
    """Per statement-mode table (`decided`: schema, table, operation), the versions row audit
    recorded after audit_log id `after`: what each INSERT wrote, each content UPDATE of
    claim_item."""
    out: dict[str, Counter[str]] = {}
    for schema, table, operation, data in conn.execute(
        "SELECT schema_name, table_name, operation, new_data FROM audit.audit_log "
        "WHERE id > %s ORDER BY id",
        (after,),
    ).fetchall():
        if (schema, table, operation) in decided:
            assert operation in {"INSERT", "UPDATE"}, (table, operation)
            out.setdefault(table, Counter())[normal(table, data)] += 1
    return out


def recovered_versions(conn: psycopg.Connection) -> dict[str, Counter[str]]:
    """The same versions, recovered from the statement records and the versioned records:
    an inserted row is the live row (or, if changed since, the old content its first later
    row-audited change logged); a claim_item version is claim_item_decision's record of it,
    or the live line for the newest."""
    out: dict[str, Counter[str]] = {}
    logged = conn.execute(
        "SELECT table_name, operation, row_id, schema_name FROM audit.statement_log_rows"
    ).fetchall()
    lines_logged: Counter[str] = Counter()
    for table, operation, row_id, schema in logged:
        if operation == "UPDATE":
            assert table == "claim_item"
            lines_logged[row_id] += 1
            continue
        assert operation == "INSERT", (table, operation)
        row = conn.execute(
            sql.SQL(
                "SELECT coalesce((SELECT a.old_data FROM audit.audit_log AS a "
                "  WHERE a.table_name = %s AND a.row_id = %s AND a.old_data IS NOT NULL "
                "  ORDER BY a.id LIMIT 1), "
                " (SELECT to_jsonb(t) FROM {} AS t WHERE t.id::text = %s))"
            ).format(sql.Identifier(schema, table)),
            (table, row_id, row_id),
        ).fetchone()
        assert row is not None and row[0] is not None, (table, row_id)
        out.setdefault(table, Counter())[normal(table, row[0])] += 1
    decision = sql.SQL(", ").join(sql.Identifier("d", c) for c in DECISION_COLUMNS)
    for line, count in lines_logged.items():
        versions = conn.execute(
            sql.SQL(
                "SELECT to_jsonb(ci) || jsonb_build_object('adjudication_version', "
                "       d.adjudication_version) || to_jsonb(v) "
                "FROM claims_service.claim_item AS ci "
                "JOIN claims_service.claim_item_decision AS d ON d.claim_item_id = ci.id "
                "CROSS JOIN LATERAL (SELECT {}) AS v "
                "WHERE ci.id = %s::uuid AND d.adjudication_version >= 1 "
                "UNION ALL SELECT to_jsonb(ci) FROM claims_service.claim_item AS ci "
                "WHERE ci.id = %s::uuid"
            ).format(decision),
            (line, line),
        ).fetchall()
        # No version missing: one per statement that wrote the line.
        assert len(versions) == count, (line, len(versions), count)
        for (content,) in versions:
            out.setdefault("claim_item", Counter())[normal("claim_item", content)] += 1
    return out


def test_statement_audit_keeps_every_version_row_audit_would(
    db: TestDatabase, cluster: Cluster, prefect_api: str
) -> None:
    """The same adjudication, re-adjudication and posting, once as it runs (registered:
    statement audit) and once in a copy whose statement audit the owner switched off for the
    test (no decision in audit.statement_audit: row audit only). Every row version row audit
    recorded in the copy is recovered, with equal content, from the first run's statement
    records and versioned records; none is missing, none is extra."""
    numbers, member = build_readjudication_world(db)
    with db.admin() as conn:
        start = int(str(conn.execute("SELECT coalesce(max(id), 0) FROM audit.audit_log")
                        .fetchone()[0]))  # type: ignore[index]  # fmt: skip
        decided = {
            (r[0], r[1], r[2])
            for r in conn.execute(
                "SELECT schema_name, table_name, operation FROM audit.statement_audit"
            ).fetchall()
        }
    with fresh_database(cluster, db.name) as copy:
        with copy.admin() as conn:
            conn.execute("DELETE FROM audit.statement_audit")  # the owner's test-only switch
        run_scenario(numbers, member)
        with copy.admin() as conn:
            assert conn.execute("SELECT count(*) FROM audit.statement_log").fetchone() == (0,)
            expected = row_audited_versions(conn, start, decided)
    run_scenario(numbers, member)
    with db.admin() as conn:
        assert conn.execute(
            "SELECT count(*) FROM audit.audit_log AS a JOIN audit.statement_audit AS s "
            "USING (schema_name, table_name, operation) WHERE a.id > %s "
            "AND a.table_name IN ('claim_item', 'claim_status_history', 'claim_note')",
            (start,),
        ).fetchone() == (0,)
        recovered = recovered_versions(conn)
    assert set(expected) >= {"claim_item", "claim_status_history", "claim_payment"}
    assert sum(expected["claim_item"].values()) >= 12 + 4  # adjudicated, then re-adjudicated
    assert recovered == expected


def test_archiving_is_audited_per_statement_and_its_rows_are_in_the_archive(
    db: TestDatabase, prefect_api: str
) -> None:
    """An archiving run's deletes are statement records (the guard found every row, with its
    content, in the archive); their ids are exactly the claims moved, and each is in the
    archive; row audit logs no DELETE."""
    from flows.claim_archiving import claim_archiving
    from tests.test_ops_archiving import AS_OF, build_claims, expected_archived

    with db.admin() as conn:
        build_claims(conn)
        claim_ids = expected_archived(conn)
        start = int(str(conn.execute("SELECT coalesce(max(id), 0) FROM audit.audit_log")
                        .fetchone()[0]))  # type: ignore[index]  # fmt: skip
        report = claim_archiving(older_than="2y", batch_size=7, as_of=AS_OF)
        assert report.claims_moved == len(claim_ids) > 10
        deleted = {
            r[0]
            for r in conn.execute(
                "SELECT row_id FROM audit.statement_log_rows WHERE table_name = 'claim' "
                "AND operation = 'DELETE' AND flow_name = 'claim-archiving'"
            ).fetchall()
        }
        assert deleted == {str(c) for c in claim_ids}
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT table_name FROM audit.statement_log WHERE operation = 'DELETE'"
            ).fetchall()
        }
        assert {"claim", "claim_item", "claim_status_history", "claim_note"} <= tables
        assert conn.execute(
            "SELECT count(*) FROM audit.audit_log WHERE id > %s AND operation = 'DELETE'",
            (start,),
        ).fetchone() == (0,)
        missing = conn.execute(
            "SELECT count(*) FROM audit.statement_log_rows AS r WHERE r.operation = 'DELETE' "
            "AND r.table_name = 'claim_item' AND NOT EXISTS (SELECT 1 FROM archive.claim_item "
            "AS a WHERE a.id::text = r.row_id)"
        ).fetchone()
        assert missing == (0,)
