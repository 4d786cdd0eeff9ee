"""Readable builders of small ``EngineInput`` batches for the engine's tests.

A test states only what matters to it: ``Batch.standard()`` is a world where one member (M1,
born 1990-06-15, enrolled since 2020) has one active coverage (COV1, plan PLAN-A) and one
benefit (OUTPATIENT, no limits, nothing shared, 100 % in network / 80 % out) at one in-network
provider (P1); the test then adds claims and overrides rows. Amounts are written in rupiah with
:func:`rp` so that the expected values in the tests read like the contract's examples.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from claims_askes.adjudication.frames import INPUT_CONTRACT, EngineInput

DateLike = str | dt.date | None

_DATE_COLUMNS = {
    "service_date",
    "admission_date",
    "discharge_date",
    "date_of_birth",
    "enrollment_date",
    "termination_date",
    "effective_date",
    "expiration_date",
    "valid_from",
    "valid_to",
}
_INSTANT_COLUMNS = {"submission_date"}
_NULLABLE_INT_COLUMNS = {
    "annual_limit_cents",
    "incident_limit_cents",
    "lifetime_limit_cents",
    "day_limit",
    "visit_limit",
    "age_limit_min",
    "age_limit_max",
    "oop_max_cents",
}
_INT_COLUMNS = {
    "line_number",
    "quantity",
    "charged_cents",
    "allowed_cents",
    "deductible_cents",
    "copay_cents",
    "coinsurance_bp",
    "in_network_bp",
    "out_network_bp",
    "waiting_period_days",
    "year",
    "amount_used_cents",
    "deductible_used_cents",
    "oop_used_cents",
    "visits_used",
    "days_used",
}
_BOOL_COLUMNS = {"is_active", "requires_preauth"}


def rp(rupiah: int | str) -> int:
    """Rupiah to cents: ``rp(150_000)`` is 15 000 000 cents; ``rp("0.5")`` is 50 cents."""
    from decimal import Decimal

    cents = Decimal(str(rupiah)) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{rupiah!r} is not a whole number of cents")
    return int(cents)


def _column(name: str, values: list[Any]) -> pd.Series:
    """One input column with the dtype the contract gives it."""
    if name in _DATE_COLUMNS or name in _INSTANT_COLUMNS:
        stamps = pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
        return pd.Series(stamps, dtype="datetime64[ns]")
    if name in _NULLABLE_INT_COLUMNS:
        return pd.Series(values, dtype="Int64")
    if name in _INT_COLUMNS:
        return pd.Series(values, dtype="int64")
    if name in _BOOL_COLUMNS:
        return pd.Series(values, dtype=bool)
    return pd.Series(values, dtype=object)


def to_frame(name: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The EngineInput frame ``name`` from row dicts (only the contract's columns are kept)."""
    columns = INPUT_CONTRACT[name][0]
    return pd.DataFrame({c: _column(c, [row.get(c) for row in rows]) for c in columns})


@dataclass
class Batch:
    """Rows of every input frame, with builder methods that fill in sensible defaults."""

    claims: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    coverages: list[dict[str, Any]] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)
    fee_schedules: list[dict[str, Any]] = field(default_factory=list)
    plan_benefits: list[dict[str, Any]] = field(default_factory=list)
    exclusions: list[dict[str, Any]] = field(default_factory=list)
    cost_sharing: list[dict[str, Any]] = field(default_factory=list)
    accumulators: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[dict[str, Any]] = field(default_factory=list)
    prior_lines: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def standard(cls) -> Batch:
        """One member, coverage, in-network provider and plain OUTPATIENT benefit."""
        return (
            cls()
            .member("M1")
            .coverage("COV1", "M1", "PLAN-A")
            .contract("P1")
            .benefit("PLAN-A", "OUTPATIENT")
        )

    # ----- reference data -------------------------------------------------------------------

    def member(
        self,
        member_id: str,
        *,
        date_of_birth: DateLike = "1990-06-15",
        status: str = "active",
        enrollment_date: DateLike = "2020-01-01",
        termination_date: DateLike = None,
    ) -> Batch:
        self.members.append(
            dict(
                member_id=member_id,
                date_of_birth=date_of_birth,
                status=status,
                enrollment_date=enrollment_date,
                termination_date=termination_date,
            )
        )
        return self

    def coverage(
        self,
        coverage_id: str,
        member_id: str,
        plan_id: str,
        *,
        effective_date: DateLike = "2020-01-01",
        termination_date: DateLike = None,
        status: str = "active",
        policy_id: str = "POL1",
    ) -> Batch:
        self.coverages.append(
            dict(
                coverage_id=coverage_id,
                member_id=member_id,
                policy_id=policy_id,
                plan_id=plan_id,
                effective_date=effective_date,
                termination_date=termination_date,
                status=status,
            )
        )
        return self

    def contract(
        self,
        provider_id: str,
        *,
        network_status: str = "in_network",
        effective_date: DateLike = "2020-01-01",
        termination_date: DateLike = None,
        status: str = "active",
    ) -> Batch:
        self.contracts.append(
            dict(
                provider_id=provider_id,
                network_status=network_status,
                effective_date=effective_date,
                termination_date=termination_date,
                status=status,
            )
        )
        return self

    def fee(
        self,
        provider_id: str,
        procedure_code: str,
        allowed_cents: int,
        *,
        effective_date: DateLike = "2020-01-01",
        expiration_date: DateLike = None,
    ) -> Batch:
        self.fee_schedules.append(
            dict(
                provider_id=provider_id,
                procedure_code=procedure_code,
                allowed_cents=allowed_cents,
                effective_date=effective_date,
                expiration_date=expiration_date,
            )
        )
        return self

    def benefit(self, plan_id: str, benefit_code: str, **overrides: Any) -> Batch:
        """A plan_benefit row: no limits, nothing shared, 100 % in / 80 % out of network."""
        row: dict[str, Any] = dict(
            plan_id=plan_id,
            benefit_code=benefit_code,
            is_active=True,
            effective_date="2020-01-01",
            expiration_date=None,
            annual_limit_cents=None,
            incident_limit_cents=None,
            lifetime_limit_cents=None,
            day_limit=None,
            visit_limit=None,
            deductible_cents=0,
            copay_cents=0,
            coinsurance_bp=0,
            in_network_bp=10_000,
            out_network_bp=8_000,
            requires_preauth=False,
            waiting_period_days=0,
            age_limit_min=None,
            age_limit_max=None,
        )
        unknown = set(overrides) - set(row)
        if unknown:
            raise TypeError(f"unknown plan_benefit column(s): {sorted(unknown)}")
        row.update(overrides)
        self.plan_benefits = [
            b
            for b in self.plan_benefits
            if (b["plan_id"], b["benefit_code"]) != (plan_id, benefit_code)
        ]
        self.plan_benefits.append(row)
        return self

    def exclusion(
        self,
        plan_id: str,
        *,
        benefit_code: str | None = None,
        diagnosis_code_prefix: str | None = None,
        procedure_code: str | None = None,
        effective_date: DateLike = "2020-01-01",
        expiration_date: DateLike = None,
    ) -> Batch:
        self.exclusions.append(
            dict(
                plan_id=plan_id,
                benefit_code=benefit_code,
                diagnosis_code_prefix=diagnosis_code_prefix,
                procedure_code=procedure_code,
                effective_date=effective_date,
                expiration_date=expiration_date,
            )
        )
        return self

    def oop_max(
        self,
        plan_id: str,
        oop_max_cents: int | None,
        *,
        effective_date: DateLike = "2020-01-01",
        expiration_date: DateLike = None,
    ) -> Batch:
        self.cost_sharing.append(
            dict(
                plan_id=plan_id,
                oop_max_cents=oop_max_cents,
                effective_date=effective_date,
                expiration_date=expiration_date,
            )
        )
        return self

    def accumulator(
        self,
        member_id: str,
        benefit_code: str,
        year: int,
        *,
        amount_used_cents: int = 0,
        deductible_used_cents: int = 0,
        oop_used_cents: int = 0,
        visits_used: int = 0,
        days_used: int = 0,
    ) -> Batch:
        self.accumulators.append(
            dict(
                member_id=member_id,
                benefit_code=benefit_code,
                year=year,
                amount_used_cents=amount_used_cents,
                deductible_used_cents=deductible_used_cents,
                oop_used_cents=oop_used_cents,
                visits_used=visits_used,
                days_used=days_used,
            )
        )
        return self

    def authorization(
        self,
        member_id: str,
        benefit_code: str,
        *,
        status: str = "approved",
        provider_id: str | None = None,
        valid_from: DateLike = "2020-01-01",
        valid_to: DateLike = "2030-12-31",
    ) -> Batch:
        self.authorizations.append(
            dict(
                member_id=member_id,
                provider_id=provider_id,
                benefit_code=benefit_code,
                status=status,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        )
        return self

    def prior_line(
        self,
        member_id: str,
        provider_id: str,
        service_date: DateLike,
        benefit_code: str,
        charged_cents: int,
        *,
        procedure_code: str | None = None,
    ) -> Batch:
        self.prior_lines.append(
            dict(
                member_id=member_id,
                provider_id=provider_id,
                service_date=service_date,
                benefit_code=benefit_code,
                procedure_code=procedure_code,
                charged_cents=charged_cents,
            )
        )
        return self

    # ----- claims ---------------------------------------------------------------------------

    def claim(
        self,
        claim_id: str,
        *lines: Mapping[str, Any],
        member_id: str = "M1",
        provider_id: str = "P1",
        service_date: DateLike = "2024-03-01",
        submission_date: str | dt.datetime | None = None,
        claim_number: str | None = None,
        claim_type: str = "cashless",
        admission_date: DateLike = None,
        discharge_date: DateLike = None,
    ) -> Batch:
        """A claim and its lines (built with :func:`line`); line numbers default to 1, 2, …"""
        self.claims.append(
            dict(
                claim_id=claim_id,
                claim_number=claim_number or f"CLM-{claim_id}",
                member_id=member_id,
                provider_id=provider_id,
                claim_type=claim_type,
                service_date=service_date,
                submission_date=submission_date or f"{service_date} 12:00:00",
                admission_date=admission_date,
                discharge_date=discharge_date,
            )
        )
        for number, spec in enumerate(lines, start=1):
            row = dict(
                line_id=f"{claim_id}-L{number}",
                claim_id=claim_id,
                line_number=number,
                benefit_code="OUTPATIENT",
                procedure_code=None,
                diagnosis_code=None,
                quantity=1,
                charged_cents=0,
            )
            row.update(spec)
            self.lines.append(row)
        return self

    def input(self) -> EngineInput:
        """The EngineInput of everything added so far."""
        return EngineInput(**{name: to_frame(name, getattr(self, name)) for name in INPUT_CONTRACT})


def line(charged_cents: int, **columns: Any) -> dict[str, Any]:
    """A claim line's spec: its charge plus any of benefit_code, procedure_code,
    diagnosis_code, quantity, line_number, line_id."""
    return {"charged_cents": charged_cents, **columns}
