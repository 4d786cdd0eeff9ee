"""The end-to-end path on two servers: demo data, eligibility sweep, adjudication, posting,
re-adjudication, a second sweep and archiving, with the claims schema on one server and the
benefit schema on the other. Every line is decided and posted exactly once through the
outbox and the keyed ledger, and every row equals the same scenario run on one server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from tests.conftest import Cluster, fresh_database
from tests.split.conftest import (
    environment,
    fresh_split,
    one_server_environment,
)

READJUDICATED = 5
DECIDED = ("approved", "partially_approved", "rejected", "pended", "paid")


@dataclass
class Outcome:
    """What a scenario left, read on the servers holding each schema."""

    claims: dict[str, str]  # claim number -> status, live and archived
    lines: set[tuple[object, ...]]  # (id, status, approved amount, version)
    ledger: set[tuple[object, ...]]  # every accumulator_posting row but its run and time
    accumulators: set[tuple[object, ...]]
    outbox_left: int
    archived: int
    readjudicated: list[str]
    ledger_mismatches: int  # accumulator keys whose totals differ from opening + ledger


def run_scenario() -> list[str]:
    """The flows in production order; returns the claims adjudicated again."""
    from claims_askes.db.connections import service_connection
    from claims_askes.demo.main_job import demo_archive_age
    from claims_askes.demo.seed import seed_demo_data
    from flows.accumulator_posting import accumulator_posting
    from flows.claim_adjudication import claim_adjudication
    from flows.claim_archiving import claim_archiving
    from flows.claim_readjudication import claim_readjudication
    from flows.eligibility_sweep import eligibility_sweep

    seed_demo_data(members=40, claims=150, seed=7)
    eligibility_sweep()
    claim_adjudication(shards=2)
    accumulator_posting(full_reconciliation=True)
    with service_connection("claims") as conn:
        numbers = [
            r[0]
            for r in conn.execute(
                "SELECT claim_number FROM claims_service.claim WHERE status = 'approved'"
                " ORDER BY claim_number LIMIT %s",
                (READJUDICATED,),
            )
        ]
    claim_readjudication(claim_numbers=numbers, reason="split end to end")
    eligibility_sweep()
    claim_archiving(older_than=demo_archive_age())
    accumulator_posting(full_reconciliation=True)
    return numbers


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def outcome(claims_url: str, benefit_url: str, readjudicated: list[str]) -> Outcome:
    claims = rows(
        claims_url,
        "SELECT claim_number, status FROM claims_service.claim"
        " UNION ALL SELECT claim_number, status FROM archive.claim",
    )
    lines = rows(
        claims_url,
        "SELECT id, status, approved_amount, adjudication_version FROM claims_service.claim_item"
        " UNION ALL SELECT id, status, approved_amount, adjudication_version"
        " FROM archive.claim_item",
    )
    ledger = rows(
        benefit_url,
        "SELECT claim_item_id, adjudication_version, entry_type, member_id, benefit_code, year,"
        " amount, deductible, oop, visits, days FROM benefit_service.accumulator_posting",
    )
    accumulators = rows(
        benefit_url,
        "SELECT member_id, benefit_code, year, amount_used, deductible_used, oop_used,"
        " visits_used, days_used FROM benefit_service.accumulator",
    )
    mismatches = rows(
        benefit_url,
        """
        WITH ledger AS (
            SELECT member_id, benefit_code, year, sum(amount) AS amount, sum(visits) AS visits
            FROM benefit_service.accumulator_posting GROUP BY 1, 2, 3
        )
        SELECT count(*) FROM benefit_service.accumulator AS a
        FULL JOIN ledger AS l USING (member_id, benefit_code, year)
        LEFT JOIN benefit_service.accumulator_opening AS o USING (member_id, benefit_code, year)
        WHERE coalesce(a.amount_used, 0) <> coalesce(o.amount_used, 0) + coalesce(l.amount, 0)
           OR coalesce(a.visits_used, 0) <> coalesce(o.visits_used, 0) + coalesce(l.visits, 0)
        """,
    )
    outbox = rows(claims_url, "SELECT count(*) FROM claims_service.posting_outbox")
    archived = rows(claims_url, "SELECT count(*) FROM archive.claim")
    assert len(claims) == len({c[0] for c in claims}) and len(lines) == len({x[0] for x in lines})
    return Outcome(
        claims={str(c[0]): str(c[1]) for c in claims},
        lines=set(lines),
        ledger=set(ledger),
        accumulators=set(accumulators),
        outbox_left=int(str(outbox[0][0])),
        archived=int(str(archived[0][0])),
        readjudicated=readjudicated,
        ledger_mismatches=int(str(mismatches[0][0])),
    )


@pytest.fixture(scope="module")
def outcomes(
    cluster: Cluster,
    cluster_b: Cluster,
    split_templates: tuple[str, str],
    template_db: str,
    prefect_api: str,
) -> Iterator[tuple[Outcome, Outcome]]:
    """The scenario on the split, then on one server; both outcomes."""
    with fresh_split(cluster, cluster_b, split_templates) as split:
        numbers = run_scenario()
        on_split = outcome(split.a.url, split.b.url, numbers)
        with psycopg.connect(split.a.url) as conn:
            assert conn.execute("SELECT to_regnamespace('benefit_service')").fetchone() == (None,)
        with (
            fresh_database(cluster, template_db) as one,
            environment(one_server_environment(one.url)),
        ):
            on_one = outcome(one.url, one.url, run_scenario())
        yield on_split, on_one


def test_every_claim_is_decided_on_the_split(outcomes: tuple[Outcome, Outcome]) -> None:
    split, _ = outcomes
    assert len(split.claims) == 150
    undecided = {n: s for n, s in split.claims.items() if s not in DECIDED}
    assert undecided == {}
    assert len(split.readjudicated) == READJUDICATED
    assert split.archived > 0


def test_every_line_is_posted_exactly_once(outcomes: tuple[Outcome, Outcome]) -> None:
    split, _ = outcomes
    assert split.outbox_left == 0
    assert split.ledger_mismatches == 0
    # Per line, the posts less the reversals: one live version at most, never two.
    net: dict[object, int] = {}
    for entry in split.ledger:
        net[entry[0]] = net.get(entry[0], 0) + (1 if entry[2] == "post" else -1)
    assert set(net.values()) <= {0, 1}
    approved = {line[0] for line in split.lines if line[1] == "approved"}
    assert approved and approved <= {k for k, v in net.items() if v == 1}
    # The re-adjudicated claims' old versions were reversed on the other server.
    assert any(entry[2] == "reverse" for entry in split.ledger)


def test_the_split_equals_one_server(outcomes: tuple[Outcome, Outcome]) -> None:
    split, one = outcomes
    assert split.readjudicated == one.readjudicated
    assert split.claims == one.claims
    assert split.lines == one.lines
    assert split.ledger == one.ledger
    assert split.accumulators == one.accumulators
    assert (split.archived, split.outbox_left) == (one.archived, one.outbox_left)
