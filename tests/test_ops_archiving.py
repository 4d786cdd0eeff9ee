"""Claim archiving on a real server: exactly the settled claims before the cutoff move, with
their lines, status history, notes, documents, payments, line decisions, overrides and
readjustments, and whole old months of
claim_partitioned move as tables; a run killed with SIGKILL anywhere and run again loses and
duplicates nothing; a conflict in the archive stops the run with nothing moved."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from claims_askes.operations.common import ArchiveConflictError
from flows.claim_archiving import claim_archiving
from tasks.archive import TABLES as ARCHIVED
from tasks.archive import row_key_sql
from tests.conftest import TestDatabase

CLI = str(Path(sys.executable).parent / "claims-askes")
AS_OF = date(2026, 6, 15)  # with 2y: cutoff 2024-06-15
CUTOFF = date(2024, 6, 15)
CHILDREN = (
    "claim_item",
    "claim_status_history",
    "claim_note",
    "claim_document",
    "claim_payment",
    "claim_readjustment",
)
LINE_CHILDREN = ("claim_item_decision", "claim_item_override")
TABLES = (*LINE_CHILDREN, *CHILDREN, "claim")


def build_claims(conn: psycopg.Connection, claims: int = 60) -> None:
    """Claims from 2024-05-01 over 90 days: every 10th still submitted (held back), every 7th
    with a payment still pending (held back), every 11th with a readjustment still open (held
    back), every 13th with a line version still waiting for posting (held back), the rest
    settled; 2 lines each and one row in every other child table; every line
    an earlier decision (version 1), every 4th claim's first line a reviewer's override, every
    5th claim a settled readjustment; plus claim_partitioned rows in January, February and
    June."""
    conn.execute(
        """
        INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id, policy_id,
            claim_type, service_type, service_date, total_charged_amount, status)
        SELECT gen_random_uuid(), 'CLM-A-' || lpad(g::text, 5, '0'), gen_random_uuid(),
               gen_random_uuid(), gen_random_uuid(), 'cashless', 'outpatient',
               DATE '2024-05-01' + (g * 3 %% 90), 100000 + g,
               CASE WHEN g %% 10 = 0 THEN 'submitted' WHEN g %% 3 = 0 THEN 'rejected'
                    ELSE 'approved' END
        FROM generate_series(1, %(n)s) AS g""",
        {"n": claims},
    )
    conn.execute("""
        INSERT INTO claims_service.claim_item (claim_id, line_number, charged_amount, status,
            approved_amount)
        SELECT c.id, l, 50000 + l, CASE c.status WHEN 'submitted' THEN 'submitted'
               WHEN 'rejected' THEN 'rejected' ELSE 'approved' END,
               CASE WHEN c.status = 'approved' THEN 40000 END
        FROM claims_service.claim AS c, generate_series(1, 2) AS l""")
    conn.execute("""
        INSERT INTO claims_service.claim_status_history (claim_id, from_status, to_status)
        SELECT id, 'submitted', status FROM claims_service.claim""")
    conn.execute("""
        INSERT INTO claims_service.claim_note (claim_id, note_type, note_text)
        SELECT id, 'general', 'Catatan klaim ' || claim_number FROM claims_service.claim""")
    conn.execute("""
        INSERT INTO claims_service.claim_document (claim_id, document_type, file_name,
            storage_uri)
        SELECT id, 'invoice', claim_number || '.pdf', 's3://docs/' || claim_number
        FROM claims_service.claim""")
    conn.execute("""
        INSERT INTO claims_service.claim_payment (claim_id, payee_type, payee_id, amount,
            status)
        SELECT id, 'provider', provider_id, 40000,
               CASE WHEN right(claim_number, 5)::int % 7 = 0 THEN 'pending' ELSE 'paid' END
        FROM claims_service.claim WHERE status = 'approved'""")
    conn.execute("""
        INSERT INTO claims_service.claim_item_decision (claim_item_id, adjudication_version,
            status, reason_code, allowed_amount, approved_amount, adjudicated_at)
        SELECT i.id, 1, 'pended', 'PENDING_REVIEW', i.charged_amount, 0, now() - interval '1d'
        FROM claims_service.claim_item AS i""")
    conn.execute("""
        INSERT INTO claims_service.claim_item_override (claim_item_id, decision,
            approved_amount, note, overridden_by)
        SELECT i.id, 'approve', 40000, 'Disetujui setelah telaah medis', 'reviewer@askes'
        FROM claims_service.claim_item AS i
        JOIN claims_service.claim AS c ON c.id = i.claim_id
        WHERE i.line_number = 1 AND right(c.claim_number, 5)::int % 4 = 0""")
    conn.execute("""
        INSERT INTO claims_service.claim_readjustment (claim_id, from_version, to_version,
            previous_approved, new_approved, reason, status)
        SELECT c.id, 1, 2, 80000, 70000, 'Benefit table corrected',
               CASE WHEN right(c.claim_number, 5)::int % 11 = 0 THEN 'open' ELSE 'settled' END
        FROM claims_service.claim AS c
        WHERE right(c.claim_number, 5)::int % 5 = 0
           OR right(c.claim_number, 5)::int % 11 = 0""")
    conn.execute("""
        INSERT INTO claims_service.posting_outbox (claim_item_id, adjudication_version)
        SELECT i.id, 1
        FROM claims_service.claim_item AS i
        JOIN claims_service.claim AS c ON c.id = i.claim_id
        WHERE i.line_number = 2 AND right(c.claim_number, 5)::int % 13 = 0""")
    conn.execute("SELECT claims_service.create_monthly_partition(DATE '2024-06-01')")
    conn.execute("""
        INSERT INTO claims_service.claim_partitioned (id, claim_number, member_id, provider_id,
            policy_id, claim_type, service_type, service_date, total_charged_amount)
        SELECT gen_random_uuid(), 'CLM-P-' || g, gen_random_uuid(), gen_random_uuid(),
               gen_random_uuid(), 'cashless', 'outpatient',
               (ARRAY[DATE '2024-01-10', DATE '2024-02-20', DATE '2024-06-01'])[1 + g % 3], g
        FROM generate_series(1, 30) AS g""")


def fingerprint(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    """row key -> the row as text over the source columns (what must survive the move)."""
    columns = [
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            (f"claims_service.{table}",),
        ).fetchall()
    ]
    rows = conn.execute(
        sql.SQL("SELECT {}, ROW({})::text FROM {}").format(
            row_key_sql(table),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Identifier(schema, table),
        )
    ).fetchall()
    assert len(rows) == len({r[0] for r in rows}), f"duplicate ids in {schema}.{table}"
    return {r[0]: r[1] for r in rows}


def everything(conn: psycopg.Connection) -> dict[str, dict[str, str]]:
    """Every row of the claim tables, wherever it is; fails on a row in both places."""
    out = {}
    for table in TABLES:
        here = fingerprint(conn, "claims_service", table)
        there = fingerprint(conn, "archive", table)
        both = set(here) & set(there)
        assert not both, f"{len(both)} {table} rows in claims_service and archive"
        out[table] = here | there
    parts = fingerprint(conn, "claims_service", "claim_partitioned")
    archived_parts = fingerprint(conn, "archive", "claim_partitioned")
    assert not set(parts) & set(archived_parts)
    out["claim_partitioned"] = parts | archived_parts
    return out


def expected_archived(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        """
        SELECT c.id::text FROM claims_service.claim AS c
        WHERE c.service_date < %s AND c.status IN ('approved', 'rejected')
          AND NOT EXISTS (SELECT 1 FROM claims_service.claim_payment AS p
                          WHERE p.claim_id = c.id AND p.status = 'pending')
          AND NOT EXISTS (SELECT 1 FROM claims_service.claim_readjustment AS r
                          WHERE r.claim_id = c.id AND r.status = 'open')
          AND NOT EXISTS (SELECT 1 FROM claims_service.claim_item AS i
                          JOIN claims_service.posting_outbox AS o ON o.claim_item_id = i.id
                          WHERE i.claim_id = c.id)""",
        (CUTOFF,),
    ).fetchall()
    return {r[0] for r in rows}


def placed_by(conn: psycopg.Connection, table: str, key: str) -> list[tuple[str, str]]:
    """(key value, 'archive' or 'claims') of every row of `table` in either schema."""
    return conn.execute(
        sql.SQL(
            "SELECT {key}::text, 'archive' FROM {there} UNION ALL "
            "SELECT {key}::text, 'claims' FROM {here}"
        ).format(
            key=sql.Identifier(key),
            there=sql.Identifier("archive", table),
            here=sql.Identifier("claims_service", table),
        )
    ).fetchall()


def assert_archived_exactly(
    conn: psycopg.Connection, before: dict[str, dict[str, str]], claim_ids: set[str]
) -> None:
    assert everything(conn) == before  # nothing lost, changed or duplicated
    archived = set(fingerprint(conn, "archive", "claim"))
    assert archived == claim_ids
    for table in CHILDREN:
        for claim_id, where in placed_by(conn, table, "claim_id"):
            assert (where == "archive") == (claim_id in claim_ids), (table, claim_id, where)
    line_claim = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT id::text, claim_id::text FROM archive.claim_item UNION ALL "
            "SELECT id::text, claim_id::text FROM claims_service.claim_item"
        ).fetchall()
    }
    for table in LINE_CHILDREN:
        rows = placed_by(conn, table, "claim_item_id")
        assert rows
        for line_id, where in rows:
            assert (where == "archive") == (line_claim[line_id] in claim_ids), (table, line_id)
    left = conn.execute(
        "SELECT count(*) FROM claims_service.claim_partitioned WHERE service_date < '2024-03-01'"
    ).fetchone()
    moved = conn.execute("SELECT count(*) FROM archive.claim_partitioned").fetchone()
    assert left == (0,) and moved == (20,)


def test_archives_exactly_the_settled_claims_before_the_cutoff(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        build_claims(conn)
        before = everything(conn)
        claim_ids = expected_archived(conn)
        assert 10 < len(claim_ids) < 60
        report = claim_archiving(older_than="2y", batch_size=7, as_of=AS_OF)
        assert report.cutoff == CUTOFF
        assert report.claims_moved == len(claim_ids)
        assert report.rows_moved["claim_item"] == 2 * len(claim_ids)
        assert report.partitions_moved == ["claim_2024_01", "claim_2024_02"]
        assert report.held_back > 0
        assert_archived_exactly(conn, before, claim_ids)
        # The run log: per batch and table, equal counts and checksums, all moved.
        log = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE outcome = 'moved' AND "
            "source_rows = archived_rows AND source_checksum = "
            "archived_checksum), sum(source_rows) FILTER (WHERE table_name = "
            "'claim') FROM archive.archive_run_log WHERE run_id = %s",
            (report.run_id,),
        ).fetchone()
        assert log == (report.batches * 9 + 2, report.batches * 9 + 2, len(claim_ids))
        assert report.rows_moved["claim_item_decision"] == 2 * len(claim_ids)
        assert 0 < report.rows_moved["claim_item_override"] < len(claim_ids)
        assert 0 < report.rows_moved["claim_readjustment"] < len(claim_ids)
        # Archived months stay queryable, and insert-only for the claims service.
        assert conn.execute(
            "SELECT relispartition FROM pg_class WHERE oid = 'archive.claim_2024_01'::regclass"
        ).fetchone() == (True,)
        again = claim_archiving(older_than="2y", batch_size=7, as_of=AS_OF)
        assert again.claims_moved == 0 and again.partitions_moved == []
        assert_archived_exactly(conn, before, claim_ids)
    with db.as_role("claims_service_user") as svc:
        assert svc.execute("SELECT count(*) FROM archive.claim_2024_02").fetchone() == (10,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            svc.execute("DELETE FROM archive.claim_2024_02")


BACKLOG = re.compile(
    r"(\d+) settled claims ready to archive and (\d+) held back \((\d+) with "
    r"lines not posted yet, (\d+) with a payment pending or scheduled, (\d+) "
    r"with a readjustment open\), (\d+) non-empty partitions older than 2 years "
    r"\(cutoff 2024-06-15\)"
)


def archive_backlog(conn: psycopg.Connection) -> tuple[str, tuple[int, ...]]:
    """common.health_check()'s archive_backlog on AS_OF: its status, and from its details
    (ready, held back, of which unposted, unpaid, readjusting, partitions)."""
    row = conn.execute(
        "SELECT status, details FROM common.health_check(NULL, '26 hours', 2, "
        "'2 years', %s) WHERE check_name = 'archive_backlog'",
        (AS_OF,),
    ).fetchone()
    assert row is not None
    found = BACKLOG.fullmatch(row[1])
    assert found, row[1]
    return row[0], tuple(int(n) for n in found.groups())


def backlog_of_build_claims(claims: int = 60) -> tuple[int, ...]:
    """What build_claims' rules give before the cutoff, worked out apart from the SQL:
    (ready, held back, unposted, unpaid, readjusting)."""
    ready = held = unposted = unpaid = readjusting = 0
    for g in range(1, claims + 1):
        if (g * 3 % 90) >= 45 or g % 10 == 0:  # on or after 2024-06-15, or not settled
            continue
        in_outbox, payment_pending, readjustment_open = (
            g % 13 == 0,
            g % 3 != 0 and g % 7 == 0,
            g % 11 == 0,
        )  # (approved: g % 3 != 0)
        unposted += in_outbox
        unpaid += payment_pending
        readjusting += readjustment_open
        if in_outbox or payment_pending or readjustment_open:
            held += 1
        else:
            ready += 1
    return ready, held, unposted, unpaid, readjusting


def test_archive_backlog_counts_what_the_archiver_takes(db: TestDatabase, prefect_api: str) -> None:
    """common 0003: the settled claims the archiver holds back (a line not posted, a payment
    pending, a readjustment open) are no backlog: the details report them apart, and alone
    they are not a warning."""
    with db.admin() as conn:
        build_claims(conn)
        ready, held, unposted, unpaid, readjusting = backlog_of_build_claims()
        assert (
            ready == len(expected_archived(conn)) and min(held, unposted, unpaid, readjusting) > 0
        )
        assert archive_backlog(conn) == ("warning", (ready, held, unposted, unpaid, readjusting, 2))

        report = claim_archiving(older_than="2y", batch_size=100, as_of=AS_OF)
        assert report.claims_moved == ready
        assert archive_backlog(conn) == ("healthy", (0, held, unposted, unpaid, readjusting, 0))

        # CLM-A-00007 waits for its payment only: paid, it is ready, a backlog again.
        conn.execute(
            "UPDATE claims_service.claim_payment AS p SET status = 'paid' "
            "FROM claims_service.claim AS c WHERE c.id = p.claim_id "
            "AND c.claim_number = 'CLM-A-00007'"
        )
        assert archive_backlog(conn) == (
            "warning",
            (1, held - 1, unposted, unpaid - 1, readjusting, 0),
        )
        assert claim_archiving(older_than="2y", as_of=AS_OF).claims_moved == 1
        assert archive_backlog(conn)[0] == "healthy"


def test_a_conflict_in_the_archive_stops_the_run_with_nothing_lost(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        build_claims(conn)
        conn.execute("""
            INSERT INTO archive.claim (id, claim_number, member_id, provider_id, policy_id,
                claim_type, service_type, service_date, status, submission_date, created_at,
                updated_at)
            SELECT gen_random_uuid(), claim_number, member_id, provider_id, policy_id,
                claim_type, service_type, service_date, status, submission_date, created_at,
                updated_at
            FROM claims_service.claim WHERE claim_number = 'CLM-A-00001'""")
        before = everything(conn)
        with pytest.raises(ArchiveConflictError, match="CLM-A-00001"):
            claim_archiving(older_than="2y", batch_size=100, as_of=AS_OF)
        after = everything(conn)
        assert after["claim_item"] == before["claim_item"]
        assert conn.execute(
            "SELECT count(*) FROM claims_service.claim WHERE claim_number = 'CLM-A-00001'"
        ).fetchone() == (1,)
        failed = conn.execute(
            "SELECT detail FROM archive.archive_run_log WHERE outcome = 'failed'"
        ).fetchone()
        assert failed is not None and "CLM-A-00001" in failed[0]


def run_cli(api_url: str, crash_at: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PREFECT_API_URL=api_url)
    env.pop("CLAIMS_ASKES_CRASH_AT", None)
    if crash_at:
        env["CLAIMS_ASKES_CRASH_AT"] = crash_at
    return subprocess.run(
        [
            CLI,
            "run",
            "claim-archiving",
            "--older-than",
            "2y",
            "--batch-size",
            "5",
            "--as-of",
            AS_OF.isoformat(),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "point",
    ["archive-partition-before-commit", "archive-batch-before-commit", "archive-after-batch"],
)
def test_killed_run_then_rerun_loses_and_duplicates_nothing(
    db: TestDatabase, prefect_api: str, point: str
) -> None:
    with db.admin() as conn:
        build_claims(conn)
        before = everything(conn)
        claim_ids = expected_archived(conn)
        killed = run_cli(prefect_api, point)
        assert killed.returncode == -9, killed.stderr[-2000:]
        assert everything(conn) == before  # mid-way: every row exactly once
        archived = conn.execute("SELECT count(*) FROM archive.claim").fetchone()
        assert archived is not None
        assert archived[0] == (5 if point == "archive-after-batch" else 0)
        claim_archiving(older_than="2y", batch_size=5, as_of=AS_OF)  # the rerun
        assert_archived_exactly(conn, before, claim_ids)


def test_the_service_moves_records_of_settled_claims_only(db: TestDatabase) -> None:
    """archive_claim_records runs as the owner; called by the service directly it refuses a
    claim not settled, or a table other than the three record tables, and moves nothing."""
    with db.admin() as conn:
        build_claims(conn, claims=20)
        open_claim = conn.execute(
            "SELECT id FROM claims_service.claim WHERE claim_number = 'CLM-A-00010'"
        ).fetchone()  # still submitted
        settled = conn.execute(
            "SELECT id FROM claims_service.claim WHERE claim_number = 'CLM-A-00001'"
        ).fetchone()
        assert open_claim and settled
        decisions = conn.execute(
            "SELECT count(*) FROM claims_service.claim_item_decision"
        ).fetchone()
    with db.as_role("claims_service_user") as svc:
        with pytest.raises(psycopg.errors.CheckViolation, match="CLM-A-00010"):
            svc.execute(
                "SELECT claims_service.archive_claim_records('claim_item_decision', %s, NULL)",
                ([open_claim[0], settled[0]],),
            )
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            svc.execute(
                "SELECT claims_service.archive_claim_records('claim_item', %s, NULL)",
                ([settled[0]],),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            svc.execute("DELETE FROM claims_service.claim_item_decision")
    with db.admin() as conn:
        assert (
            conn.execute("SELECT count(*) FROM claims_service.claim_item_decision").fetchone()
            == decisions
        )
        assert conn.execute("SELECT count(*) FROM archive.claim_item_decision").fetchone() == (0,)


def test_every_table_hanging_off_a_claim_is_archived_with_it(db: TestDatabase) -> None:
    """A table with a foreign key to a claim (or to a line of one) that archiving does not
    move would stop archiving at its first such claim, as 0004's tables once did."""
    with db.admin() as conn:
        rows = conn.execute("""
            WITH RECURSIVE hanging(rel) AS (
                SELECT 'claims_service.claim'::regclass
                UNION
                SELECT c.conrelid::regclass FROM pg_constraint AS c
                JOIN hanging AS h ON c.confrelid = h.rel
                WHERE c.contype = 'f')
            SELECT rel::text FROM hanging""").fetchall()
    assert {r[0] for r in rows} == {f"claims_service.{t.name}" for t in ARCHIVED}
