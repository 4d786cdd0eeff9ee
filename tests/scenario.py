"""A readable builder of adjudication scenarios in a real database (as the owner: the test
sets the scene; the flow under test then uses the services' own connections)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from psycopg import sql

START = date(2020, 1, 1)
Money = int | str | Decimal
#: The largest DECIMAL(15,2) amount.
LARGEST = Decimal("9999999999999.99")


def exact(value: Money) -> Decimal:
    """An amount as it is written, never through a binary float (a float is refused)."""
    if isinstance(value, float):
        raise TypeError(f"{value!r}: money is an int, a str or a Decimal, never a float")
    return Decimal(str(value))


def rp(value: Money) -> Decimal:
    """An amount rounded to the cent as PostgreSQL's DECIMAL(15,2) rounds it on insert: half
    away from zero (0.005 → 0.01, −0.005 → −0.01)."""
    return exact(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Line:
    benefit_code: str | None
    charged: Money
    quantity: int = 1
    procedure_code: str | None = None
    diagnosis_code: str | None = "J06.9"


@dataclass
class Scenario:
    conn: psycopg.Connection
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _submitted: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _insert(self, table: str, **values: Any) -> None:
        stmt = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(*table.split(".")),
            sql.SQL(", ").join(sql.Identifier(c) for c in values),
            sql.SQL(", ").join(sql.Placeholder() * len(values)),
        )
        self.conn.execute(stmt, tuple(values.values()))

    # -- plans and benefits --------------------------------------------------------------
    def plan(self, code: str, oop_max: Money | None = None) -> uuid.UUID:
        plan_id = uuid.uuid4()
        self._insert(
            "policy_service.plan",
            id=plan_id,
            plan_code=code,
            plan_name=code,
            plan_type="individual",
            effective_date=START,
        )
        self._insert(
            "benefit_service.cost_sharing",
            plan_id=plan_id,
            oop_max=None if oop_max is None else rp(oop_max),
            effective_date=START,
        )
        return plan_id

    def benefit(self, plan_id: uuid.UUID, code: str, **rules: Any) -> None:
        for money in (
            "annual_limit",
            "incident_limit",
            "lifetime_limit",
            "deductible_amount",
            "copay_amount",
        ):
            if money in rules and rules[money] is not None:
                rules[money] = rp(rules[money])
        self._insert(
            "benefit_service.plan_benefit",
            plan_id=plan_id,
            benefit_code=code,
            benefit_name=code,
            effective_date=rules.pop("effective_date", START),
            **rules,
        )

    def exclusion(
        self,
        plan_id: uuid.UUID,
        benefit_code: str | None = None,
        diagnosis_code_prefix: str | None = None,
        procedure_code: str | None = None,
    ) -> None:
        self._insert(
            "benefit_service.benefit_exclusion",
            plan_id=plan_id,
            benefit_code=benefit_code,
            diagnosis_code_prefix=diagnosis_code_prefix,
            procedure_code=procedure_code,
            effective_date=START,
        )

    # -- members -------------------------------------------------------------------------
    def member(
        self,
        plan_id: uuid.UUID | None,
        *,
        dob: date = date(1985, 6, 15),
        status: str = "active",
        enrollment: date = START,
        termination: date | None = None,
        coverage_from: date = START,
        coverage_to: date | None = None,
        coverage_status: str = "active",
    ) -> uuid.UUID:
        member_id = uuid.uuid4()
        self._insert(
            "member_service.member",
            id=member_id,
            member_number=f"M{member_id.hex[:12]}",
            first_name="Siti",
            last_name="Rahayu",
            date_of_birth=dob,
            gender="F",
            national_id=str(member_id.int)[:16],
            status=status,
            enrollment_date=enrollment,
            termination_date=termination,
        )
        if plan_id is not None:
            self._insert(
                "member_service.member_coverage",
                member_id=member_id,
                policy_id=uuid.uuid4(),
                plan_id=plan_id,
                coverage_level="individual",
                effective_date=coverage_from,
                termination_date=coverage_to,
                status=coverage_status,
            )
        return member_id

    def accumulator(
        self,
        member_id: uuid.UUID,
        benefit_code: str,
        year: int,
        *,
        amount_used: Money = 0,
        deductible_used: Money = 0,
        oop_used: Money = 0,
        visits_used: int = 0,
        days_used: int = 0,
    ) -> None:
        for table in ("benefit_service.accumulator", "benefit_service.accumulator_opening"):
            self._insert(
                table,
                member_id=member_id,
                benefit_code=benefit_code,
                year=year,
                amount_used=rp(amount_used),
                deductible_used=rp(deductible_used),
                oop_used=rp(oop_used),
                visits_used=visits_used,
                days_used=days_used,
            )

    def authorization(
        self,
        member_id: uuid.UUID,
        benefit_code: str,
        status: str,
        valid_from: date = date(2026, 1, 1),
        valid_to: date = date(2026, 12, 31),
        provider_id: uuid.UUID | None = None,
    ) -> str:
        number = f"AUTH-{uuid.uuid4().hex[:10]}"
        self._insert(
            "authorization_service.authorization",
            authorization_number=number,
            member_id=member_id,
            provider_id=provider_id,
            benefit_code=benefit_code,
            status=status,
            valid_from=valid_from,
            valid_to=valid_to,
        )
        return number

    # -- providers -----------------------------------------------------------------------
    def provider(
        self, *, in_network: bool = True, fees: dict[str, Money] | None = None
    ) -> uuid.UUID:
        provider_id = uuid.uuid4()
        self._insert(
            "provider_service.provider",
            id=provider_id,
            provider_code=f"P{provider_id.hex[:10]}",
            name="RS Harapan Kita",
            provider_type="hospital",
        )
        self._insert(
            "provider_service.provider_contract",
            provider_id=provider_id,
            contract_number=f"C{provider_id.hex[:10]}",
            network_status="in_network" if in_network else "out_of_network",
            effective_date=START,
        )
        for procedure, amount in (fees or {}).items():
            self._insert(
                "provider_service.provider_fee_schedule",
                provider_id=provider_id,
                procedure_code=procedure,
                allowed_amount=rp(amount),
                effective_date=START,
            )
        return provider_id

    # -- claims --------------------------------------------------------------------------
    def claim(
        self,
        member_id: uuid.UUID,
        provider_id: uuid.UUID,
        service_date: date,
        lines: list[Line],
        *,
        claim_type: str = "cashless",
        service_type: str = "outpatient",
        admission: date | None = None,
        discharge: date | None = None,
        submitted: datetime | None = None,
    ) -> str:
        """A submitted claim; by default submitted the day after its last date (service,
        admission, discharge), in UTC, a second after the previous claim. Charges go to the
        database as they are written (a fractional cent is rounded by the DECIMAL(15,2)
        column); the claim's total is stored when it fits the column, else left null."""
        number = f"CLM-2026-01-{next(self._numbers):06d}"
        claim_id = uuid.uuid4()
        last = max(d for d in (service_date, admission, discharge) if d is not None)
        if submitted is None:
            submitted = datetime.combine(
                last + timedelta(days=1), datetime.min.time(), tzinfo=UTC
            ) + timedelta(seconds=next(self._submitted))
        total = max(sum((rp(line.charged) for line in lines), Decimal("0")), Decimal("0"))
        self._insert(
            "claims_service.claim",
            id=claim_id,
            claim_number=number,
            member_id=member_id,
            provider_id=provider_id,
            policy_id=uuid.uuid4(),
            claim_type=claim_type,
            service_type=service_type,
            admission_date=admission,
            discharge_date=discharge,
            service_date=service_date,
            submission_date=submitted,
            total_charged_amount=total if total <= LARGEST else None,
        )
        for n, line in enumerate(lines, start=1):
            self._insert(
                "claims_service.claim_item",
                claim_id=claim_id,
                line_number=n,
                benefit_code=line.benefit_code,
                procedure_code=line.procedure_code,
                diagnosis_code=line.diagnosis_code,
                quantity=line.quantity,
                charged_amount=exact(line.charged),
            )
        return number

    # -- reading outcomes ----------------------------------------------------------------
    def claim_row(self, number: str) -> dict[str, Any]:
        cur = self.conn.execute(
            "SELECT status, total_charged_amount, total_approved_amount, member_responsibility,"
            " lease_owner FROM claims_service.claim WHERE claim_number = %s",
            (number,),
        )
        row = cur.fetchone()
        assert row is not None, number
        return dict(zip([d.name for d in cur.description or []], row, strict=True))

    def line_row(self, number: str, line_number: int = 1) -> dict[str, Any]:
        cur = self.conn.execute(
            """
            SELECT ci.status, ci.reason_code, ci.allowed_amount, ci.deductible_amount,
                   ci.copay_amount, ci.coinsurance_amount, ci.network_reduction_amount,
                   ci.limit_amount, ci.approved_amount, ci.member_responsibility, ci.oop_amount,
                   ci.covered_days, ci.visits,
                   ci.adjudicated_at IS NOT NULL AND NOT EXISTS (
                       SELECT 1 FROM claims_service.posting_outbox o
                       WHERE o.claim_item_id = ci.id) AS posted
            FROM claims_service.claim_item ci
            JOIN claims_service.claim c ON c.id = ci.claim_id
            WHERE c.claim_number = %s AND ci.line_number = %s
            """,
            (number, line_number),
        )
        row = cur.fetchone()
        assert row is not None, (number, line_number)
        return dict(zip([d.name for d in cur.description or []], row, strict=True))

    def amounts(self, number: str, line_number: int = 1) -> tuple[Decimal, ...]:
        """(allowed, deductible, copay, coinsurance, network reduction, limit, approved,
        member responsibility) of a line."""
        r = self.line_row(number, line_number)
        return tuple(
            r[k]
            for k in (
                "allowed_amount",
                "deductible_amount",
                "copay_amount",
                "coinsurance_amount",
                "network_reduction_amount",
                "limit_amount",
                "approved_amount",
                "member_responsibility",
            )
        )

    def accumulator_row(
        self, member_id: uuid.UUID, benefit_code: str, year: int
    ) -> tuple[Any, ...] | None:
        return self.conn.execute(
            "SELECT amount_used, deductible_used, oop_used, visits_used, days_used "
            "FROM benefit_service.accumulator WHERE member_id = %s AND benefit_code = %s "
            "AND year = %s",
            (member_id, benefit_code, year),
        ).fetchone()


def amounts(*values: Money) -> tuple[Decimal, ...]:
    return tuple(rp(v) for v in values)
