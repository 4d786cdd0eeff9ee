"""Issue 15, item 5: the posting outbox cannot be emptied except by posting, and the
reconciliation that catches a lost outbox row runs on a schedule and alerts.

Deleting posting_outbox rows after a crash made a plain posting run say "0 lines posted" and
succeed: a decided line without an outbox row counts as posted. The claims role now has no
DELETE on the outbox (claims_service 0010); posting takes its line versions out through
claims_service.mark_lines_posted(), which deletes only decided versions it is given and
records each call in audit.posting_outbox_release. A row lost anyway (the owner deleting it)
fails the daily full reconciliation, with an artifact naming the member and the amounts."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from claims_askes.quality.checkpoints import DataQualityError
from flows.accumulator_posting import accumulator_posting
from tests.conftest import TestDatabase
from tests.test_accumulator_posting import adjudicate_without_posting, queued, unposted
from tests.test_adjudication_runs import assert_exactly_once, build_world

CLAIMS_ROLE = "claims_service_user"
CLAIM = uuid.UUID("00000000-0000-0000-0000-0000000000c1")
DECIDED = uuid.UUID("00000000-0000-0000-0000-000000000001")
UNDECIDED = uuid.UUID("00000000-0000-0000-0000-000000000002")
OUTSIDE = uuid.UUID("00000000-0000-0000-0000-000000000003")  # no outbox row


def add_queued_lines(conn: psycopg.Connection) -> None:
    """One claim: line 1 decided (version 1) and queued; line 2 never decided (version 0),
    yet with an outbox row (the claims role may insert one); line 3 decided, not queued."""
    conn.execute(
        """
        INSERT INTO claims_service.claim (id, claim_number, member_id, provider_id, policy_id,
            claim_type, service_type, service_date, total_charged_amount, status,
            adjudication_version)
        VALUES (%s, 'CLM-OUTBOX-1', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
                'cashless', 'outpatient', DATE '2026-01-05', 3000, 'approved', 1)""",
        (CLAIM,),
    )
    conn.execute(
        """
        INSERT INTO claims_service.claim_item (id, claim_id, line_number, charged_amount,
            status, adjudicated_at, adjudication_version)
        VALUES (%(decided)s, %(claim)s, 1, 1000, 'approved', now(), 1),
               (%(undecided)s, %(claim)s, 2, 1000, 'submitted', NULL, 0),
               (%(outside)s, %(claim)s, 3, 1000, 'approved', now(), 1)""",
        {"decided": DECIDED, "undecided": UNDECIDED, "outside": OUTSIDE, "claim": CLAIM},
    )
    conn.execute(
        "INSERT INTO claims_service.posting_outbox (claim_item_id, adjudication_version) "
        "VALUES (%s, 1), (%s, 0)",
        (DECIDED, UNDECIDED),
    )


def outbox(db: TestDatabase) -> list[tuple[uuid.UUID, int]]:
    with db.admin() as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT claim_item_id, adjudication_version FROM claims_service.posting_outbox "
                "ORDER BY 1"
            ).fetchall()
        ]


def releases(db: TestDatabase) -> list[tuple[str, int, list[uuid.UUID], list[int]]]:
    with db.admin() as conn:
        return [
            (r[0], r[1], list(r[2]), list(r[3]))
            for r in conn.execute(
                "SELECT user_name, lines_given, claim_item_ids, versions "
                "FROM audit.posting_outbox_release ORDER BY id"
            ).fetchall()
        ]


def mark(
    conn: psycopg.Connection, ids: list[uuid.UUID], versions: list[int]
) -> list[tuple[uuid.UUID, int]]:
    rows = conn.execute(
        "SELECT * FROM claims_service.mark_lines_posted(%s::uuid[], %s::integer[])",
        (ids, versions),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_a_direct_delete_of_the_outbox_is_refused(db: TestDatabase) -> None:
    with db.admin() as conn:
        add_queued_lines(conn)
    before = outbox(db)
    with db.as_role(CLAIMS_ROLE) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM claims_service.posting_outbox WHERE true")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE claims_service.posting_outbox")
        # Nor can it rewrite or read the record of the function's calls.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM audit.posting_outbox_release")
    assert outbox(db) == before


@pytest.mark.usefixtures("service_configuration")
def test_the_claims_session_of_every_configuration_cannot_delete_the_outbox(
    db: TestDatabase,
) -> None:
    """With service passwords, and with DATABASE_URL alone (the owner's login taking the
    claims role at session start), the flows' claims session is refused too."""
    from claims_askes.db.connections import service_connection

    with db.admin() as conn:
        add_queued_lines(conn)
    with service_connection("claims") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM claims_service.posting_outbox WHERE true")
    assert len(outbox(db)) == 2


def test_the_function_takes_out_only_decided_versions_it_is_given(db: TestDatabase) -> None:
    with db.admin() as conn:
        add_queued_lines(conn)
    before = outbox(db)
    with db.as_role(CLAIMS_ROLE) as conn:
        # A line never decided, whatever version is given: nothing.
        assert mark(conn, [UNDECIDED], [0]) == []
        assert mark(conn, [UNDECIDED], [1]) == []
        # A decided line with another version than its outbox row's, a line not queued,
        # nothing at all: nothing.
        assert mark(conn, [DECIDED], [2]) == []
        assert mark(conn, [OUTSIDE], [1]) == []
        assert mark(conn, [], []) == []
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            mark(conn, [DECIDED, UNDECIDED], [1])
        assert outbox(db) == before
        # The decided version it is given, and only that one.
        assert mark(conn, [DECIDED, UNDECIDED], [1, 0]) == [(DECIDED, 1)]
    assert outbox(db) == [(UNDECIDED, 0)]
    # Every call that reached the queue is recorded, with what it took out (the call with
    # no lines returns before, and the one with mismatched arrays rolled back).
    assert releases(db) == [
        (CLAIMS_ROLE, 1, [], []),
        (CLAIMS_ROLE, 1, [], []),
        (CLAIMS_ROLE, 1, [], []),
        (CLAIMS_ROLE, 1, [], []),
        (CLAIMS_ROLE, 2, [DECIDED], [1]),
    ]


def test_posting_empties_the_outbox_and_posts_exactly_once(
    db: TestDatabase, prefect_api: str
) -> None:
    with db.admin() as conn:
        build_world(conn, members=4)
        adjudicate_without_posting(db, prefect_api)
        waiting = queued(db)
        first = accumulator_posting()
        assert (first.lines_marked, queued(db)) == (waiting, 0)
        second = accumulator_posting(full_reconciliation=True)
        assert (second.lines_marked, second.entries_inserted) == (0, 0)
        assert_exactly_once(conn)
    # Posting's calls are on record: every line version it took out, once, as the claims
    # role.
    calls = releases(db)
    assert calls and {c[0] for c in calls} == {CLAIMS_ROLE}
    taken = [line for c in calls for line in c[2]]
    assert len(taken) == len(set(taken)) == waiting


def latest_reconciliation_artifact() -> str:
    """The newest failed-reconciliation markdown artifact on the Prefect API."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async def read() -> Any:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=["checkpoint-accumulator-reconciliation"])
                ),
                sort=ArtifactSort.CREATED_DESC,
                limit=1,
            )
            return found[0]

    artifact = asyncio.run(read())
    assert artifact.type == "markdown"
    return str(artifact.data)


def test_a_lost_outbox_row_fails_the_full_reconciliation(
    db: TestDatabase, prefect_api: str
) -> None:
    """The owner deletes every outbox row of one member after a crash (corruption no
    service role can cause). A plain posting run reconciles only the members it posts and
    cannot see it; the daily full reconciliation fails the run, and its artifact names the
    member and the amounts."""
    with db.admin() as conn:
        build_world(conn, members=3)
        adjudicate_without_posting(db, prefect_api)
        first = conn.execute("SELECT min(member_id::text) FROM claims_service.claim").fetchone()
        assert first is not None
        member = str(first[0])
        approved = conn.execute(
            "SELECT ci.benefit_code, sum(ci.approved_amount) FROM claims_service.claim AS c "
            "JOIN claims_service.claim_item AS ci ON ci.claim_id = c.id "
            "WHERE ci.status = 'approved' AND c.member_id = %s GROUP BY 1 "
            "HAVING sum(ci.approved_amount) > 0 ORDER BY 1",
            (member,),
        ).fetchall()
        assert approved
        lost = conn.execute(
            "DELETE FROM claims_service.posting_outbox AS o USING claims_service.claim_item "
            "AS ci, claims_service.claim AS c WHERE ci.id = o.claim_item_id "
            "AND c.id = ci.claim_id AND c.member_id = %s",
            (member,),
        ).rowcount
        assert lost > 0 and unposted(db) > 0
        plain = accumulator_posting()
        assert plain.lines_marked > 0 and queued(db) == 0
        assert member not in plain.members
        with pytest.raises(DataQualityError) as failure:
            accumulator_posting(full_reconciliation=True)
    message = str(failure.value)
    assert "ledger_equals_posted_lines" in message and f"member_id='{member}'" in message
    artifact = latest_reconciliation_artifact()
    assert f"member_id='{member}'" in artifact
    for benefit, amount in approved:
        cents = int(amount * 100)
        shown = f"{cents // 100:,}.{cents % 100:02d}"
        assert f"benefit_code='{benefit}'" in artifact
        assert f"amount: ledger Rp 0.00, posted lines Rp {shown}" in artifact, artifact
