"""Pended claims are left alone until something they wait for changes (issue 18, part 3).

One scenario for the module: six members, each with a claim pended on a pending
pre-authorization, and one ordinary claim. The flow runs once (everything is decided), then
twice more with nothing changed, then once after one change per claim (an authorization
approved, a coverage changed, an override, the review age passed, a re-adjudication asked
for), then once more. Each test reads what the runs did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import psycopg
import pytest

from claims_askes.adjudication.pends import (
    AUTHORIZATION,
    COVERAGE,
    NEVER_ADJUDICATED,
    OVERRIDE,
    REVIEW_AGE,
    due_pended_claims,
)
from flows.claim_adjudication import claim_adjudication
from flows.claim_readjudication import claim_readjudication
from schemas.reports import AdjudicationSummary
from tests.conftest import TestDatabase
from tests.scenario import Line, Scenario

SD = date(2026, 3, 10)
PENDED = ("still", "auth", "coverage", "override", "aged", "asked")


@dataclass
class Story:
    conn: psycopg.Connection
    claims: dict[str, str]
    runs: list[AdjudicationSummary] = field(default_factory=list)
    snapshots: list[dict[str, tuple[Any, ...]]] = field(default_factory=list)
    decision_rows: list[dict[str, int]] = field(default_factory=list)

    def snapshot(self) -> None:
        """Per claim: status, version, last update (a lease would change it)."""
        rows = self.conn.execute(
            "SELECT claim_number, status, adjudication_version, updated_at "
            "FROM claims_service.claim"
        ).fetchall()
        self.snapshots.append({r[0]: tuple(r[1:]) for r in rows})
        counts = self.conn.execute(
            "SELECT c.claim_number, count(d.claim_item_id) FROM claims_service.claim c "
            "JOIN claims_service.claim_item ci ON ci.claim_id = c.id "
            "LEFT JOIN claims_service.claim_item_decision d ON d.claim_item_id = ci.id "
            "GROUP BY c.claim_number"
        ).fetchall()
        self.decision_rows.append({r[0]: int(r[1]) for r in counts})

    def run(self) -> AdjudicationSummary:
        summary = claim_adjudication(chunk_size=3)
        self.runs.append(summary)
        self.snapshot()
        return summary

    def version(self, key: str, after_run: int) -> int:
        return int(self.snapshots[after_run][self.claims[key]][1])

    def status(self, key: str, after_run: int) -> str:
        return str(self.snapshots[after_run][self.claims[key]][0])


def change_each_pended_claim(s: Scenario, members: dict[str, Any], claims: dict[str, str]) -> None:
    from claims_askes.adjudication.overrides import record_override

    conn = s.conn
    conn.execute(
        "UPDATE authorization_service.authorization SET status = 'approved' WHERE member_id = %s",
        (members["auth"],),
    )
    conn.execute(
        "UPDATE member_service.member_coverage SET termination_date = DATE '2027-12-31' "
        "WHERE member_id = %s",
        (members["coverage"],),
    )
    record_override(
        claims["override"], 2, approve=Decimal("40000"), reject=None, note="checked", by="rina"
    )
    # The aged claim waited 25 hours (review age 24) with nothing changed meanwhile: its
    # adjudication and its member's rows are moved back in time (triggers off to do so).
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(
            "UPDATE claims_service.claim SET adjudicated_at = adjudicated_at - "
            "interval '25 hours' WHERE claim_number = %s",
            (claims["aged"],),
        )
        for table, column in (
            ("authorization_service.authorization", "member_id"),
            ("member_service.member_coverage", "member_id"),
            ("member_service.member", "id"),
        ):
            conn.execute(
                f"UPDATE {table} SET updated_at = updated_at - interval '2 days' "  # noqa: S608
                f"WHERE {column} = %s",
                (members["aged"],),
            )
    claim_readjudication(claim_numbers=[claims["asked"]], reason="asked for by a reviewer")


@pytest.fixture(scope="module")
def story(module_db: TestDatabase, prefect_api: str) -> Iterator[Story]:
    with module_db.admin() as conn:
        s = Scenario(conn)
        plan = s.plan("PLAN-PEND")
        s.benefit(plan, "IP_SURGERY", requires_preauth=True)
        s.benefit(plan, "LAB")
        s.benefit(plan, "OP_GP")
        hospital = s.provider(in_network=True)
        members: dict[str, Any] = {}
        claims: dict[str, str] = {}
        for key in PENDED:
            members[key] = s.member(plan)
            s.authorization(members[key], "IP_SURGERY", "pending")
            claims[key] = s.claim(
                members[key],
                hospital,
                SD,
                [Line("IP_SURGERY", 5_000_000), Line("LAB", 50_000)],
            )
        members["plain"] = s.member(plan)
        claims["plain"] = s.claim(members["plain"], hospital, SD, [Line("OP_GP", 100_000)])
        story = Story(conn, claims)
        story.run()  # 0: everything decided
        story.run()  # 1: nothing changed
        story.run()  # 2: nothing changed
        change_each_pended_claim(s, members, claims)
        story.snapshot()  # 3: after the changes (the asked claim re-adjudicated)
        story.runs.append(story.runs[-1])  # (keeps run and snapshot indexes aligned)
        story.run()  # 4: the changed claims decided again
        story.run()  # 5: nothing changed
        yield story


def test_first_run_pends_and_posts_only_approved_lines(story: Story) -> None:
    first = story.runs[0]
    assert first.claims == 7
    assert {story.status(k, 0) for k in PENDED} == {"pended"}
    assert story.status("plain", 0) == "approved"
    # Twelve pended line versions went through posting with nothing to post: only the plain
    # claim's line reached the accumulators.
    assert first.lines_posted == 1


def test_a_pended_claim_run_again_without_change_is_left_alone(story: Story) -> None:
    for n in (1, 2):
        run = story.runs[n]
        assert (run.claims, run.lines, run.lines_posted, run.chunks) == (0, 0, 0, 0)
        assert run.pended_waiting == 6 and run.pended_due == {}
        assert run.by_status == [] and run.pended_reviewed == 0
        # Not even leased: no row of a claim changed (a lease updates it), no decision was
        # superseded.
        assert story.snapshots[n] == story.snapshots[0]
        assert story.decision_rows[n] == story.decision_rows[0]
    assert {story.version(k, 2) for k in PENDED} == {1}
    assert set(story.decision_rows[2].values()) == {0}


def test_pended_claims_are_decided_again_when_what_they_wait_for_changes(story: Story) -> None:
    run = story.runs[4]
    assert run.claims == 4
    assert run.pended_due == {AUTHORIZATION: 1, COVERAGE: 1, OVERRIDE: 1, REVIEW_AGE: 1}
    assert run.pended_waiting == 2  # still, and asked (decided again when asked for)
    for key in ("auth", "coverage", "override", "aged"):
        assert story.version(key, 4) == 2, key
        assert story.decision_rows[4][story.claims[key]] == 2, key  # two lines superseded
    # The approved authorization lets the claim through; the others still wait for theirs.
    assert story.status("auth", 4) == "approved"
    assert {story.status(k, 4) for k in ("coverage", "override", "aged")} == {"pended"}
    override_line = story.conn.execute(
        "SELECT ci.status, ci.approved_amount FROM claims_service.claim_item ci "
        "JOIN claims_service.claim c ON c.id = ci.claim_id "
        "WHERE c.claim_number = %s AND ci.line_number = 2",
        (story.claims["override"],),
    ).fetchone()
    assert override_line == ("approved", Decimal("40000.00"))
    # Posted: the approved claim's two lines, and the overridden line.
    assert run.lines_posted == 3
    assert story.version("still", 4) == 1
    assert story.decision_rows[4][story.claims["still"]] == 0


def test_a_claim_taken_after_the_review_age_is_reported(story: Story) -> None:
    run = story.runs[4]
    assert (run.pended_reviewed, run.pended_reviewed_numbers) == (1, [story.claims["aged"]])
    from claims_askes.adjudication.summary import pended_in_words

    words = pended_in_words(run)
    assert "2 left alone" in words and "1 review age" in words
    assert f"1 pended claims taken again after the review age: {story.claims['aged']}." in words


def test_re_adjudication_decides_a_pended_claim_when_asked(story: Story) -> None:
    assert story.version("asked", 2) == 1
    assert story.version("asked", 3) == 2 and story.status("asked", 3) == "pended"
    assert story.version("asked", 5) == 2  # and the next runs leave it alone


def test_after_the_changes_are_decided_the_claims_are_left_alone_again(story: Story) -> None:
    run = story.runs[5]
    assert (run.claims, run.lines_posted) == (0, 0)
    assert run.pended_waiting == 5 and run.pended_due == {}
    assert story.snapshots[5] == story.snapshots[4]


def test_due_pended_claims_name_one_reason_each_and_the_first_wins() -> None:
    t0 = pd.Timestamp("2026-03-01 08:00")
    pended = pd.DataFrame(
        {
            "claim_id": ["a", "b", "c", "d", "e", "f"],
            "claim_number": ["A", "B", "C", "D", "E", "F"],
            "member_id": ["m1", "m2", "m3", "m4", "m5", "m6"],
            "adjudicated_at": [t0, t0, t0, t0 - pd.Timedelta(days=3), pd.NaT, t0],
            "overridden_at": [t0 + pd.Timedelta(minutes=1), pd.NaT, pd.NaT, pd.NaT, pd.NaT, t0],
        }
    )
    later = t0 + pd.Timedelta(hours=1)
    authorizations = pd.DataFrame(
        {"member_id": ["m1", "m2", "m6"], "changed_at": [later, later, t0]}
    )
    coverages = pd.DataFrame(
        {"member_id": ["m3", "m4"], "changed_at": [later, t0 - pd.Timedelta(days=4)]}
    )
    due = due_pended_claims(
        pended, authorizations, coverages, datetime(2026, 3, 1, 12), timedelta(hours=24)
    )
    assert dict(zip(due["claim_id"], due["reason"], strict=True)) == {
        "a": OVERRIDE,  # also an authorization change: the override is named
        "b": AUTHORIZATION,
        "c": COVERAGE,
        "d": REVIEW_AGE,  # its coverage changed before its adjudication: not a change
        "e": NEVER_ADJUDICATED,
    }  # f: an override and a change at the moment of its adjudication, already seen
